// JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters): one testsuite per policy, one
// testcase per case; a failed case has a <failure>, a case that could not run an <error>.
import type { PolicyTestResult } from './runner.js';

/** Escapes text for XML content and attribute values (and drops characters XML 1.0 forbids). */
export function xmlEscape(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export function toJUnit(results: PolicyTestResult[], name = 'llmguard test'): string {
  const total = (f: (r: PolicyTestResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites name="${xmlEscape(name)}" tests="${total((r) => r.results.length)}" failures="${total((r) => r.failed)}" errors="${total((r) => r.errors)}" time="${seconds(total((r) => r.durationMs))}">`,
  );
  for (const r of results) {
    out.push(
      `  <testsuite name="${xmlEscape(r.policy)}" tests="${r.results.length}" failures="${r.failed}" errors="${r.errors}" skipped="0" time="${seconds(r.durationMs)}">`,
    );
    for (const c of r.results) {
      const open = `    <testcase classname="${xmlEscape(r.policy)}" name="${xmlEscape(c.name)}" time="${seconds(c.durationMs)}"`;
      if (c.outcome === 'pass') {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      const tag = c.outcome === 'fail' ? 'failure' : 'error';
      const message = c.outcome === 'fail' ? `expected ${c.expected}; got ${c.actual ?? '?'}` : (c.problems[0] ?? 'error');
      const detail = [`expected: ${c.expected}`, `actual:   ${c.actual ?? '-'}`, ...c.problems.map((p) => `- ${p}`)].join('\n');
      out.push(`      <${tag} message="${xmlEscape(message)}" type="${tag === 'failure' ? 'PolicyTestFailure' : 'PolicyTestError'}">${xmlEscape(detail)}</${tag}>`);
      const logs = c.logs.map((l) => `[${l.level}] ${l.message}`).join('\n');
      if (logs) out.push(`      <system-out>${xmlEscape(logs)}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
