// graphql-transport-ws with a real client of the protocol (graphql-ws, the protocol's reference
// implementation, on the `ws` package): subscribe to a job's progress, receive it, complete; and the
// close codes the protocol defines for a refused connection_init (4403) and a missing one (4408).
//
//   WS_URL        ws://host:port/graphql/ws
//   GRAPHQL_URL   http://host:port/graphql (to find a job)
//   TOKEN         a Hub JWT of a user with Migrate (stack-gateway token)
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { WS_URL, GRAPHQL_URL, TOKEN } = process.env;
let failed = 0;
let passed = 0;

async function check(name, run) {
  const started = Date.now();
  try {
    const detail = await run();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)${detail ? ` — ${detail}` : ''}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${error?.message ?? error}`);
  }
}

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
  ]);
}

async function someJobId() {
  const response = await fetch(GRAPHQL_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query: '{ jobs(first: 1, filter: { status: [RUNNING] }) { nodes { id } } }' }),
  });
  const body = await response.json();
  const id = body?.data?.jobs?.nodes?.[0]?.id;
  if (!id) throw new Error(`no running job to follow: ${JSON.stringify(body)}`);
  return id;
}

/** Resolves with the close code of the first socket the client closes. */
function closeCode(client) {
  return new Promise((resolve) => client.on('closed', (event) => resolve(event.code)));
}

await check('subscribe, receive the job progress, complete', async () => {
  const jobId = await someJobId();
  const client = createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${TOKEN}` },
    retryAttempts: 0,
    lazy: true,
  });
  try {
    const subscription = client.iterate({
      query: 'subscription($j: ID!) { jobProgress(jobId: $j) { status itemsDone itemsTotal } }',
      variables: { j: jobId },
    });
    const first = await withTimeout(subscription.next(), 10_000, 'first event');
    const progress = first.value?.data?.jobProgress;
    if (!progress || progress.status !== 'RUNNING') {
      throw new Error(`unexpected first event ${JSON.stringify(first.value)}`);
    }
    // Completing from the client ends the iteration (the client sends `complete`).
    const done = await withTimeout(subscription.return(), 5_000, 'complete');
    if (!done.done) throw new Error('the subscription did not complete');
    return `status ${progress.status}, ${progress.itemsDone}/${progress.itemsTotal} items`;
  } finally {
    await client.dispose();
  }
});

await check('a token that does not verify closes with 4403', async () => {
  const client = createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: 'Bearer not.a.token' },
    retryAttempts: 0,
    lazy: true,
  });
  const closed = closeCode(client);
  const errors = [];
  const unsubscribe = client.subscribe(
    { query: 'subscription { agentStatus { status } }' },
    { next() {}, error(e) { errors.push(e); }, complete() {} },
  );
  const code = await withTimeout(closed, 5_000, 'close');
  unsubscribe();
  await client.dispose();
  if (code !== 4403) throw new Error(`closed with ${code}, not 4403`);
  return 'Forbidden';
});

await check('no connection_init in time closes with 4408', async () => {
  const socket = new WebSocket(WS_URL, 'graphql-transport-ws');
  const code = await withTimeout(
    new Promise((resolve, reject) => {
      socket.on('close', (c) => resolve(c));
      socket.on('error', reject);
    }),
    15_000,
    'close',
  );
  if (code !== 4408) throw new Error(`closed with ${code}, not 4408`);
  return 'Connection initialisation timeout';
});

console.log(`graphql-transport-ws: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
