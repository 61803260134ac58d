// The benchmark's printed report: one table of the numbers, CPU seconds per phase, and
// where the create phase's time went (the operator's requests, its reconciles, the apiserver's side).

/** @param {number} v @param {number} [d] */
const f = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');

/** @param {Record<string, number>} o */
const kv = (o) =>
  Object.entries(o)
    .filter(([, v]) => v)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '-';

/** @param {string[][]} rows */
function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

/** @param {any} r the result main.mjs writes */
export function printReport(r) {
  const c = r.create;
  const n = r.config.policies;
  const out = [];
  out.push(`Operator scale: ${n} policies, ${r.config.secrets} Secrets (${r.machine.cpus} CPUs, ${r.machine.cpuModel}, Node ${r.machine.node})`);
  out.push(`load average at start ${r.machine.loadAverageAtStart.join(' ')}, at end ${r.machine.loadAverageAtEnd.join(' ')} (other work on the machine slows every number here)`);
  if (r.config.notes.length) out.push(...r.config.notes.map((/** @type {string} */ s) => `note: ${s}`));
  out.push('');
  const reconcileMean = (c.toReady.reconcileSeconds / Math.max(1, c.toReady.reconcileCount)) * 1000;
  const rows = [
    ['measure', 'value', 'issue asks'],
    ['create: applies (server-side, in flight)', `${n} in ${f(c.applySeconds)} s (${r.config.applyConcurrency})`, ''],
    ['create: Ready when the last apply returned', `${c.readyAtLastApply}/${n}`, ''],
    ['create: last apply -> all Ready', `${f(c.lastApplyToAllReadyS)} s${c.timedOut ? ' (timed out)' : ''}`, '<= 30 s (1,000)'],
    ['create: first apply -> all Ready', `${f(c.firstApplyToAllReadyS)} s`, ''],
    ['create: one policy, apply -> Ready p50/p90/p99', `${f(c.perPolicyReadyMs.p50 / 1000)} / ${f(c.perPolicyReadyMs.p90 / 1000)} / ${f(c.perPolicyReadyMs.p99 / 1000)} s`, ''],
    ['create: API requests per policy', f(c.toReady.apiRequests / n, 2), ''],
    ['create: writes per policy (non-GET)', `${f(c.toReady.writes / n, 2)} (Lease ${c.toReady.leaseWrites} in all)`, ''],
    ['create: reconciles per policy, mean duration', `${f(c.toReady.reconcileCount / n, 2)}, ${f(reconcileMean, 0)} ms`, ''],
    ['create: after all Ready until drained: requests', `${c.toSettled.apiRequests - c.toReady.apiRequests} (writes ${c.toSettled.writes - c.toReady.writes})`, ''],
    ['restart: SIGTERM -> exit', `${f(r.restart.stopS, 2)} s`, ''],
    ['restart: start -> /readyz 200', `${f(r.restart.readyS, 2)} s`, ''],
    ['restart: start -> queue drained', `${f(r.restart.drainedS, 2)} s`, ''],
    ['restart: writes (objects, status, Events)', `${r.restart.operator.resourceWrites} (+${r.restart.operator.leaseWrites} Lease; ${r.restart.operator.apiRequests} requests in all)`, '0'],
    ['memory: idle RSS, no policy', `${f(r.start.emptyIdleRssMiB)} MiB`, '<= request 128 MiB'],
    [`memory: idle RSS, ${n} policies (after restart)`, `${f(r.idle.rssMiB)} MiB`, '<= request 128 MiB'],
    [`memory: RSS 10 s after ${r.config.secrets} Secrets`, `${f(r.secrets.rssAfterMiB)} MiB (${r.secrets.deltaMiB >= 0 ? '+' : ''}${f(r.secrets.deltaMiB)})`, 'no move'],
    ['memory: peak RSS (sampled / VmHWM)', `${f(r.peak.operator.rssMiB)} / ${f(r.peak.operator.hwmMiB)} MiB`, '< limit 256 MiB'],
    ['secrets: operator requests meanwhile', `${r.secrets.operator.apiRequests} (writes ${r.secrets.operator.resourceWrites} +${r.secrets.operator.leaseWrites} Lease)`, ''],
  ];
  out.push(table(rows));

  out.push('', 'CPU seconds by phase (wall seconds; every thread of each process)');
  const roles = ['operator', 'kube-apiserver', 'etcd', 'bench'];
  /** @type {string[][]} */
  const cpuRows = [['phase', 'wall', ...roles]];
  /** @type {Record<string, number>} */
  const totals = {};
  let wallTotal = 0;
  for (const [phase, p] of Object.entries(/** @type {Record<string, any>} */ (r.phases))) {
    if (phase === 'end') continue;
    wallTotal += p.wallS;
    cpuRows.push([phase, f(p.wallS), ...roles.map((role) => {
      const v = p.roles[role]?.cpuS ?? 0;
      totals[role] = (totals[role] ?? 0) + v;
      return f(v, 2);
    })]);
  }
  cpuRows.push(['total', f(wallTotal), ...roles.map((role) => f(totals[role] ?? 0, 2))]);
  out.push(table(cpuRows));

  out.push('', `Where create's time went (first apply -> all Ready, ${f(c.firstApplyToAllReadyS)} s)`);
  out.push(`  operator requests by method: ${kv(c.toReady.apiByMethod)}`);
  out.push(`  operator requests by method and code: ${kv(c.toReady.apiByMethodCode)}`);
  out.push(`  object writes: ${kv(c.toReady.objectWrites)}; status writes ${c.toReady.statusWrites}; events ${c.toReady.events}`);
  out.push(`  reconciles: ${kv(c.toReady.reconciles)}; ${f(c.toReady.reconcileSeconds)} s in reconciles in total, mean ${f(reconcileMean, 0)} ms; max queue depth ${c.maxQueueDepth}`);
  const b = c.toReady.durationBuckets;
  const les = Object.keys(b).filter((k) => k !== '+Inf').sort((x, y) => Number(x) - Number(y));
  let prev = 0;
  const hist = [];
  for (const le of [...les, '+Inf']) {
    const v = b[le] ?? 0;
    if (v - prev > 0) hist.push(`<=${le}s: ${v - prev}`);
    prev = v;
  }
  out.push(`  reconcile durations: ${hist.join(', ') || '-'}`);
  const cp = r.phases.create;
  if (cp) {
    const cpu = (/** @type {string} */ role) => f(cp.roles[role]?.cpuS ?? 0, 1);
    out.push(`  CPU over the create phase (${f(cp.wallS)} s wall): operator ${cpu('operator')} s, kube-apiserver ${cpu('kube-apiserver')} s, etcd ${cpu('etcd')} s, this script ${cpu('bench')} s`);
  }
  out.push('  kube-apiserver, requests it served meanwhile (everyone\'s; top 12): count, mean ms');
  for (const row of c.apiserver.slice(0, 12)) out.push(`    ${row.request.padEnd(44)} ${String(row.count).padStart(7)}  ${f(row.meanMs, 1).padStart(7)}`);
  const tl = c.timeline.filter((/** @type {any} */ _x, /** @type {number} */ i, /** @type {any[]} */ a) => a.length <= 12 || i % Math.ceil(a.length / 12) === 0 || i === a.length - 1);
  out.push(`  timeline (s: Ready, queue depth, reconciles, operator requests): ${tl.map((/** @type {any} */ x) => `${x.t}: ${x.ready}/${x.queueDepth}/${x.reconciles}/${x.apiRequests}`).join('  ')}`);
  out.push('', `Operator log (first run): ${kv(r.logs.first.byMsg)}`);
  if (r.logs.first.problems.length) out.push(...r.logs.first.problems.slice(0, 5).map((/** @type {string} */ l) => `  ${l}`));
  out.push(`Operator log (after restart): ${kv(r.logs.second.byMsg)}`);
  if (r.logs.second.problems.length) out.push(...r.logs.second.problems.slice(0, 5).map((/** @type {string} */ l) => `  ${l}`));
  process.stdout.write(out.join('\n') + '\n');
}
