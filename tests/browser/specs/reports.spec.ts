// Reports: two charts (SVG with role=img and a label) and the numbers as a table.
import { test, expect, signIn } from '../fixtures';

test('the reports page draws its two charts and a table with the numbers', async ({ page }) => {
  await signIn(page, 'analyst', '#/reports');
  await expect(page.getByRole('heading', { name: 'Reports', exact: true })).toBeVisible();

  for (const caption of ['Refund rate over time', 'Claims by reason']) {
    const figure = page.getByRole('figure', { name: caption, exact: true });
    await expect(figure, `figure "${caption}"`).toBeVisible();
    const chart = figure.locator('svg[role="img"]');
    await expect(chart, `an svg role=img in "${caption}"`).toHaveCount(1);
    await expect(chart).toBeVisible();
    await expect(chart).toHaveAttribute('aria-label', /\S/);
    // Bars are drawn (the demo data has months of claims): marks filled with
    // the hatch pattern (the pattern's own tile is a plain colour)...
    const bars = chart.locator('rect[fill^="url("]');
    await expect.poll(() => bars.count(), { message: `bars in "${caption}"` }).toBeGreaterThan(2);
    // ...and do not rely on colour alone: each bar has a value written by it.
    const labels = await chart.locator('text').allTextContents();
    expect(labels.filter((t) => /\d/.test(t)).length, `value labels in "${caption}"`).toBeGreaterThanOrEqual(await bars.count());
    const box = await chart.boundingBox();
    expect(box!.width, `"${caption}" width`).toBeGreaterThan(100);
    expect(box!.height, `"${caption}" height`).toBeGreaterThan(50);
  }

  // The same numbers as a table: rows with numeric cells.
  const tables = page.getByRole('table');
  await expect(tables.first()).toBeVisible();
  const numericCells = page.getByRole('table').getByRole('cell').filter({ hasText: /\d/ });
  await expect.poll(() => numericCells.count(), { message: 'numeric cells in the report tables' }).toBeGreaterThan(3);
  // Every reason on the chart is in a table too.
  const reasonsRow = page.getByRole('table').getByRole('row').filter({ hasText: /not delivered|NOT_DELIVERED/i });
  await expect(reasonsRow.first()).toBeVisible();
});
