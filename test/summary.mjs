// Prints vitest's totals as one plain line ("N passed, N failed, N skipped") for CI log readers.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? "build/test-results.json";
try {
  const report = JSON.parse(readFileSync(file, "utf8"));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
} catch (err) {
  console.log(`tests: no report at ${file} (${err instanceof Error ? err.message : String(err)})`);
}
