// How the playground talks to the gateway: queries and mutations over HTTP with the session cookie,
// subscriptions over WebSocket (graphql-transport-ws). Both go to this server: no other origin.
import { parse, print, visit } from 'graphql';
import { createClient } from 'graphql-ws';

export const HTTP_URL = '/graphql';

export function wsUrl(location = window.location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/graphql/ws`;
}

/** One POST to /graphql with the `code_session` cookie. */
export async function request(query, variables = {}, { operationName, headers } = {}) {
  const response = await fetch(HTTP_URL, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      ...headers,
    },
    body: JSON.stringify({ query, variables, operationName }),
  });
  const type = response.headers.get('content-type') ?? '';
  if (!/json/.test(type)) {
    const text = (await response.text()).slice(0, 300);
    throw new Error(`HTTP ${response.status} from ${HTTP_URL}: ${text}`);
  }
  return response.json();
}

/**
 * The introspection query with `ofType` nested at most `typeDepth` levels. GraphiQL asks for 9
 * (graphql-js' default), which is 14 levels deep in all and over the gateway's depth limit
 * (GRAPHQL_MAX_DEPTH, 12 by default); 6 fits and still describes types like `[[T!]!]!`.
 */
export function shallowIntrospection(query, typeDepth) {
  let depth = 0;
  const document = visit(parse(query), {
    Field: {
      enter(node) {
        if (node.name.value !== 'ofType') return undefined;
        if (depth === typeDepth) return null; // drop it (and its selection)
        depth += 1;
        return undefined;
      },
      leave(node) {
        if (node.name.value === 'ofType') depth -= 1;
      },
    },
  });
  return print(document);
}

/** Fetches the schema, asking for shallower type references while the server says too deep. */
async function introspect(params, headers) {
  let result;
  for (let typeDepth = 6; typeDepth >= 3; typeDepth -= 1) {
    const query = shallowIntrospection(params.query, typeDepth);
    result = await request(query, params.variables ?? {}, {
      operationName: params.operationName,
      headers,
    });
    const codes = (result?.errors ?? []).map((e) => e?.extensions?.code);
    if (!codes.includes('QUERY_TOO_DEEP')) return result;
  }
  return result;
}

/**
 * The operation that runs, read from the text GraphiQL sends: its name and kind. GraphiQL updates
 * its idea of the operation name 100 ms after an edit or a tab switch, so a quick run can carry the
 * previous tab's name; a document with one operation runs that one whatever the name says.
 */
export function selectOperation(query, operationName) {
  let operations;
  try {
    operations = parse(query).definitions.filter((d) => d.kind === 'OperationDefinition');
  } catch {
    return { operationName, kind: 'query' }; // the server reports the syntax error
  }
  const named = operationName && operations.find((op) => op.name?.value === operationName);
  const selected = named || (operations.length === 1 ? operations[0] : undefined);
  return {
    operationName: selected ? selected.name?.value : operationName,
    kind: selected?.operation ?? 'query',
  };
}

// What graphql-transport-ws close codes mean, for the result pane.
const CLOSE_CODES = {
  4400: 'the server rejected a message (4400)',
  4401: 'not signed in (4401 Unauthorized): sign in and try again',
  4403: 'not allowed (4403 Forbidden)',
  4408: 'the connection was not initialised in time (4408)',
  4409: 'a subscription with this id is already running (4409)',
  4429: 'too many connection attempts or subscriptions (4429)',
};

/**
 * A readable error for what graphql-ws hands its sink (GraphQL errors, a CloseEvent, or the Event
 * of a socket that never opened), shaped like a GraphQL error so the pane shows no stack trace.
 */
export function describeSocketError(error, url) {
  if (Array.isArray(error)) return error;
  if (error instanceof Error) return { message: error.message };
  if (typeof CloseEvent !== 'undefined' && error instanceof CloseEvent) {
    const meaning = CLOSE_CODES[error.code] ?? `closed with code ${error.code}`;
    const reason = error.reason ? ` — ${error.reason}` : '';
    return { message: `WebSocket ${url}: ${meaning}${reason}`, extensions: { closeCode: error.code } };
  }
  if (typeof Event !== 'undefined' && error instanceof Event) {
    return {
      message:
        `Could not open a WebSocket to ${url} (graphql-transport-ws): ` +
        'the server refused the connection or is not reachable.',
    };
  }
  return error;
}

/** A subscription as the Observable GraphiQL consumes: each event replaces the result pane. */
function subscribe(client, url, params) {
  return {
    subscribe(observer) {
      const dispose = client.subscribe(params, {
        next: (value) => observer.next(value),
        error: (error) => observer.error(describeSocketError(error, url)),
        complete: () => observer.complete(),
      });
      return { unsubscribe: dispose };
    },
  };
}

/** GraphiQL's fetcher: introspection, subscriptions over WebSocket, the rest over HTTP. */
export function createFetcher() {
  const url = wsUrl();
  // Lazy: the socket opens with the first subscription, so a page without one never connects.
  // The browser sends the session cookie with the upgrade request, as with any same-origin request.
  const client = createClient({ url, lazy: true, retryAttempts: 2 });
  return (params, options) => {
    const headers = options?.headers;
    if (params.operationName === 'IntrospectionQuery') return introspect(params, headers);
    const { operationName, kind } = selectOperation(params.query, params.operationName);
    if (kind === 'subscription') return subscribe(client, url, { ...params, operationName });
    return request(params.query, params.variables ?? {}, { operationName, headers });
  };
}
