// Money, dates and enum names as people read them. Money arrives as a decimal
// string plus a currency code and is never turned into a float: formatting
// passes the string to Intl (which reads it exactly) and parsing works on
// digits into integer minor units (BigInt).

const moneyFormats = new Map();

function moneyFormat(currency) {
  if (!moneyFormats.has(currency)) {
    moneyFormats.set(currency, new Intl.NumberFormat('en', { style: 'currency', currency }));
  }
  return moneyFormats.get(currency);
}

/** How many minor-unit digits a currency has (EUR 2, JPY 0). */
export function currencyDigits(currency) {
  return moneyFormat(currency).resolvedOptions().maximumFractionDigits;
}

/** "€12.50" from {amount: "12.50", currency: "EUR"}. */
export function money(m) {
  if (!m) return '—';
  try {
    return moneyFormat(m.currency).format(m.amount);
  } catch {
    return `${m.amount} ${m.currency}`;
  }
}

/**
 * "12.50" typed by a person → 1250n minor units of EUR. Throws an Error with a
 * readable message when the text is not a plain amount or has more decimals
 * than the currency.
 */
export function parseMinor(text, currency) {
  const s = String(text).trim();
  const match = /^(\d+)(?:\.(\d*))?$/.exec(s);
  if (!match) throw new Error(`"${s}" is not an amount; write it like 12.50`);
  const digits = currencyDigits(currency);
  const fraction = match[2] || '';
  if (fraction.length > digits) {
    throw new Error(`${currency} has ${digits} decimal places; "${s}" has ${fraction.length}`);
  }
  return BigInt(match[1]) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0');
}

/** 1250n minor units of EUR → "12.50", the wire's Decimal. */
export function minorToDecimal(minor, currency) {
  const digits = currencyDigits(currency);
  const negative = minor < 0n;
  const text = (negative ? -minor : minor).toString().padStart(digits + 1, '0');
  const whole = digits ? text.slice(0, -digits) : text;
  const sign = negative ? '-' : '';
  return digits ? `${sign}${whole}.${text.slice(-digits)}` : `${sign}${whole}`;
}

/** A typed amount as the API's MoneyInput, validated and normalised. */
export function moneyInput(text, currency) {
  return { amount: minorToDecimal(parseMinor(text, currency), currency), currency };
}

/** A Money as a plain number of major units, for drawing only (never for sums sent back). */
export function moneyNumber(m) {
  return m ? Number(m.amount) : 0;
}

const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });

/** A timestamp in the viewer's time zone. */
export function when(iso) {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

/** A calendar date (NaiveDate "2024-05-06" or a bucket start), read in UTC. */
export function day(iso) {
  if (!iso) return '—';
  const d = iso.length === 10 ? new Date(`${iso}T00:00:00Z`) : new Date(iso);
  return dateOnly.format(d);
}

/** AWAITING_SECOND_APPROVAL → "Awaiting second approval". */
export function words(value) {
  if (!value) return '—';
  const s = String(value).toLowerCase().replaceAll('_', ' ').replace(/\b(isp|url|csv)\b/g, (w) => w.toUpperCase());
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** 0.0421 → "4.2%". */
export function percent(ratio) {
  return new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 }).format(ratio || 0);
}

/** Hours as "5.5 h", or a dash when there is nothing to measure. */
export function hours(h) {
  return h === null || h === undefined ? '—' : `${new Intl.NumberFormat('en', { maximumFractionDigits: 1 }).format(h)} h`;
}
