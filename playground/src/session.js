// Who is looking at the page. Asked once before GraphiQL renders, so a signed-out visitor gets the
// sign-in panel instead of a wall of UNAUTHENTICATED errors.
import { request } from './graphql.js';

/** @returns {Promise<{ state: 'signed-in', viewer } | { state: 'signed-out' } | { state: 'unknown', message }>} */
export async function loadSession() {
  try {
    const out = await request('query Viewer { viewer { name email tenant { name } } }');
    if (out?.data?.viewer) return { state: 'signed-in', viewer: out.data.viewer };
    const codes = (out?.errors ?? []).map((e) => e?.extensions?.code);
    if (codes.includes('UNAUTHENTICATED')) return { state: 'signed-out' };
    return { state: 'unknown', message: out?.errors?.[0]?.message ?? 'unexpected answer' };
  } catch (error) {
    return { state: 'unknown', message: String(error?.message ?? error) };
  }
}

/** A job to put in the subscription tab's variables: a running one if there is one. */
export async function pickJobId() {
  try {
    const out = await request(
      'query PickJob { running: jobs(first: 1, filter: { status: [RUNNING] }) { nodes { id } } ' +
        'any: jobs(first: 1) { nodes { id } } }',
    );
    return out?.data?.running?.nodes?.[0]?.id ?? out?.data?.any?.nodes?.[0]?.id ?? null;
  } catch {
    return null;
  }
}

export async function signOut() {
  await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' });
  window.location.reload();
}
