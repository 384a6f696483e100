// Reports: refund rate over time and claims by reason (drawn as SVG, with the
// same numbers in tables), the median time to a decision, overdue payouts,
// and the CSV exports (fetched with the token, saved through a blob: URL).

import { h, replace } from '../lib/dom.js';
import { download, gql } from '../lib/api.js';
import { day, hours, money, percent, words } from '../lib/format.js';
import { barChart, columnChart } from '../lib/charts.js';
import { actionButton, alertArea, field, select, table } from '../lib/ui.js';

const REPORT = `query Report($from: DateTime!, $to: DateTime!, $interval: ReportInterval!, $currency: String!) {
  refundReport(from: $from, to: $to, interval: $interval, currency: $currency) {
    currency
    totals { ...figures }
    buckets { ...figures }
    byReason { reason count amount { amount currency } }
    byStatus { status count }
  }
}
fragment figures on ReportBucket {
  periodStart ordersPaid claimsSubmitted claimsApproved claimsRejected refundRate
  chargebacksOpened medianHoursToDecision payoutsOverdue
  revenue { amount currency } refunded { amount currency }
}`;

const INTERVAL_WORDS = { DAY: 'day', WEEK: 'week', MONTH: 'month' };

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/** The report's range: `from` at 00:00 UTC, `to` inclusive (so the next day, exclusive). */
function range(fromDay, toDay) {
  const to = new Date(`${toDay}T00:00:00Z`);
  to.setUTCDate(to.getUTCDate() + 1);
  return { from: `${fromDay}T00:00:00Z`, to: to.toISOString() };
}

function shortLabel(iso, interval) {
  const d = new Date(iso);
  const opts = interval === 'MONTH' ? { month: 'short', year: '2-digit' } : { day: 'numeric', month: 'short' };
  return new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: 'UTC' }).format(d);
}

function rateFigure(report, interval) {
  const points = report.buckets.map((b) => ({ label: shortLabel(b.periodStart, interval), value: b.refundRate, display: percent(b.refundRate) }));
  const summary = `Bar chart of the refund rate per ${INTERVAL_WORDS[interval]}: ${points.map((p) => `${p.label} ${p.display}`).join(', ') || 'no data'}.`;
  const rows = report.buckets.map((b) => [
    day(b.periodStart), String(b.ordersPaid), money(b.revenue), money(b.refunded), percent(b.refundRate),
    String(b.claimsSubmitted), String(b.claimsApproved), String(b.claimsRejected), String(b.chargebacksOpened),
    hours(b.medianHoursToDecision), String(b.payoutsOverdue),
  ]);
  return [
    h('figure', null, h('figcaption', null, 'Refund rate over time'), h('div', { class: 'chart-scroll' }, columnChart(points, summary))),
    table(`Refund report per ${INTERVAL_WORDS[interval]}`, ['Period from', 'Orders paid', 'Revenue', 'Refunded', 'Refund rate', 'Claims submitted', 'Approved', 'Rejected', 'Chargebacks', 'Median time to decision', 'Overdue payouts'], rows, 'No periods in this range.'),
  ];
}

function reasonFigure(report) {
  const reasons = [...report.byReason].sort((a, b) => b.count - a.count);
  const bars = reasons.map((r) => ({ label: words(r.reason), value: r.count, display: `${r.count} (${money(r.amount)})` }));
  const summary = `Bar chart of claims by reason: ${bars.map((b) => `${b.label} ${b.display}`).join(', ') || 'no claims'}.`;
  return [
    h('figure', null, h('figcaption', null, 'Claims by reason'), h('div', { class: 'chart-scroll' }, barChart(bars, summary))),
    table('Claims by reason', ['Reason', 'Claims', 'Requested amount'], reasons.map((r) => [words(r.reason), String(r.count), money(r.amount)]), 'No claims in this range.'),
  ];
}

function totals(report) {
  const t = report.totals;
  return h(
    'dl',
    { class: 'facts totals' },
    [
      ['Revenue', money(t.revenue)],
      ['Refunded (settled)', money(t.refunded)],
      ['Refund rate', percent(t.refundRate)],
      ['Median time to decision', hours(t.medianHoursToDecision)],
      ['Overdue payouts', String(t.payoutsOverdue)],
      ['Claims submitted', String(t.claimsSubmitted)],
      ['Claims approved', String(t.claimsApproved)],
      ['Claims rejected', String(t.claimsRejected)],
      ['Chargebacks opened', String(t.chargebacksOpened)],
    ].map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}

export default {
  title: 'Reports',
  render(main) {
    const alerts = alertArea();
    const results = h('div', { class: 'report' });
    const today = new Date();
    // A year by month: enough for a trend, few enough bars to read.
    const start = new Date(Date.UTC(today.getUTCFullYear() - 1, today.getUTCMonth() + 1, 1));
    const from = h('input', { type: 'date', name: 'from', value: isoDay(start), required: true });
    const to = h('input', { type: 'date', name: 'to', value: isoDay(today), required: true });
    const interval = select('interval', ['DAY', 'WEEK', 'MONTH'], 'MONTH');
    const currency = h('input', { type: 'text', name: 'currency', value: 'EUR', required: true, maxLength: 3, pattern: '[A-Za-z]{3}', autocomplete: 'off' });

    async function load() {
      alerts.clear();
      try {
        const { refundReport } = await gql(REPORT, { ...range(from.value, to.value), interval: interval.value, currency: currency.value.trim().toUpperCase() });
        replace(
          results,
          h('h2', null, `Summary, ${day(from.value)} to ${day(to.value)}, ${refundReport.currency}`),
          totals(refundReport),
          h('h2', null, 'Refunds over time'),
          ...rateFigure(refundReport, interval.value),
          h('h2', null, 'Reasons'),
          ...reasonFigure(refundReport),
        );
      } catch (err) {
        alerts.show(err);
      }
    }

    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Report range' },
      field('From', from),
      field('To', to),
      field('Interval', interval),
      field('Currency', currency),
      h('button', { type: 'submit', class: 'primary' }, 'Show report'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      load();
    });

    // The exports take the same filters as the lists, as query parameters.
    const csv = (name, fromKey, toKey) => actionButton(`Download ${name} CSV`, alerts, () => {
      const r = range(from.value, to.value);
      const query = new URLSearchParams({ [fromKey]: r.from, [toKey]: r.to });
      return download(`/exports/${name}.csv?${query}`, `${name}-${from.value}-to-${to.value}.csv`);
    });

    main.append(
      h('h1', null, 'Reports'),
      form,
      h('section', { 'aria-labelledby': 'csv-h', class: 'downloads' },
        h('h2', { id: 'csv-h' }, 'Downloads'),
        h('p', null, 'Claims submitted and payouts initiated in the range above, as CSV.'),
        h('div', { class: 'actions' }, csv('claims', 'submittedFrom', 'submittedTo'), csv('payouts', 'initiatedFrom', 'initiatedTo'))),
      alerts.el,
      results,
    );
    load();
  },
};
