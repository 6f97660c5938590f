// Runs every server audit of graphql-http (the GraphQL-over-HTTP specification's reference
// implementation) against GRAPHQL_URL and prints one line per audit:
//   <ok|warn|error|notice>  <MUST|SHOULD|MAY> <name> [<id>]  (— reason)
// Exit status: 1 when a MUST fails, else 1 when a SHOULD fails (the goal is all pass), else 0.
// MAY audits are reported, never fatal. The last line is "conformance: N passed, N failed"
// (", N skipped" for MAYs not met).
import { serverAudits } from 'graphql-http';

const url = process.env.GRAPHQL_URL;
if (!url) {
  console.error('set GRAPHQL_URL (e.g. http://127.0.0.1:8080/graphql)');
  process.exit(2);
}
// Extra headers for every audit request (none needed: `{ __typename }` runs anonymously).
const extra = process.env.AUDIT_HEADERS ? JSON.parse(process.env.AUDIT_HEADERS) : {};
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  return fetch(input, { ...init, headers });
};

const counts = {};
const failed = { MUST: 0, SHOULD: 0, MAY: 0 };
for (const audit of serverAudits({ url, fetchFn })) {
  const level = audit.name.split(' ')[0];
  let result;
  try {
    result = await audit.fn();
  } catch (error) {
    result = { status: 'error', reason: `the audit threw: ${error}` };
  }
  counts[level] ??= { ok: 0, total: 0 };
  counts[level].total += 1;
  let line = `${result.status.padEnd(6)} ${audit.name} [${audit.id}]`;
  if (result.status === 'ok') {
    counts[level].ok += 1;
  } else {
    failed[level] += 1;
    line += ` — ${result.reason}`;
    if (result.response) {
      const body = await result.response.text().catch(() => '');
      line += ` (got ${result.response.status} ${result.response.headers.get('content-type') ?? '-'}: ${body.slice(0, 200)})`;
    }
  }
  console.log(line);
}

console.log('');
for (const level of ['MUST', 'SHOULD', 'MAY']) {
  if (counts[level]) console.log(`${level}: ${counts[level].ok} of ${counts[level].total} pass`);
}
// A failed MAY is reported as skipped (optional behaviour), never as a failure.
const passed = Object.values(counts).reduce((n, c) => n + c.ok, 0);
const fatal = failed.MUST + failed.SHOULD;
console.log(
  `conformance: ${passed} passed, ${fatal} failed` + (failed.MAY ? `, ${failed.MAY} skipped` : ''),
);
process.exit(failed.MUST > 0 || failed.SHOULD > 0 ? 1 : 0);
