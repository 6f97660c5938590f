import { GraphiQL } from 'graphiql';
import { useMemo, useState } from 'react';

import { createFetcher } from './graphql.js';
import { defaultTabs } from './operations.js';
import { signOut } from './session.js';
import { SignIn } from './SignIn.jsx';

function Who({ session }) {
  if (session.state === 'signed-in') {
    const { viewer } = session;
    return (
      <span className="sg-who">
        <span title={viewer.email}>
          {viewer.name} · {viewer.tenant.name}
        </span>
        <button type="button" className="sg-link" onClick={signOut}>
          Sign out
        </button>
      </span>
    );
  }
  return (
    <span className="sg-who">
      <a href="/" className="sg-link" title="Reload after signing in">
        not signed in
      </a>
    </span>
  );
}

export function App({ session, jobId }) {
  const [explore, setExplore] = useState(false);
  const fetcher = useMemo(() => createFetcher(), []);
  const tabs = useMemo(() => defaultTabs(jobId), [jobId]);

  if (session.state === 'signed-out' && !explore) {
    return <SignIn onExplore={() => setExplore(true)} />;
  }
  return (
    <div className="sg-page">
      {session.state === 'unknown' && (
        <div className="sg-banner" role="status">
          Could not check your session ({session.message}). Operations may fail.
        </div>
      )}
      <GraphiQL fetcher={fetcher} defaultTabs={tabs} defaultEditorToolsVisibility="variables">
        <GraphiQL.Logo>
          <span className="sg-logo">
            stack-gateway
            <Who session={session} />
          </span>
        </GraphiQL.Logo>
      </GraphiQL>
    </div>
  );
}
