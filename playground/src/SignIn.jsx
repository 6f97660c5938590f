// What a signed-out visitor sees: how to get a session, instead of GraphiQL answering every
// operation with UNAUTHENTICATED.

export function SignIn({ onExplore }) {
  return (
    <main className="sg-signin" aria-labelledby="sg-signin-title">
      <h1 id="sg-signin-title">Sign in to use the stack-gateway playground</h1>
      <p>
        This is the GraphQL playground of <strong>stack-gateway</strong>, the one GraphQL endpoint
        of The One Code and The One Migrate. Queries run as you, so you need a session first.
      </p>
      <section>
        <h2>Through Hub</h2>
        <p>
          Open the gateway from <strong>The One Hub</strong> (its Code or Migrate tile). Hub signs
          you in with single sign-on: it sends your browser to <code>/auth/sso?token=…</code>, the
          gateway sets its session cookie and brings you back here. The session lasts as long as
          your Hub session.
        </p>
      </section>
      <section>
        <h2>On a development server</h2>
        <p>Print a one-time sign-in link with the server's own development secret and open it:</p>
        <pre>
          <code>stack-gateway token --print-link</code>
        </pre>
        <p>
          Run it with the same <code>DATA_DIR</code> and <code>BIND_ADDR</code> as the server
          (from a checkout: <code>cargo run -- token --print-link</code>). The link is valid for
          five minutes and once; <code>stack-gateway serve</code> also prints one when it starts.
        </p>
      </section>
      <section>
        <h2>From a script or back-end</h2>
        <p>
          Send a Hub JWT as <code>Authorization: Bearer …</code> with each request to{' '}
          <code>/graphql</code>; this page is not needed for that.
        </p>
      </section>
      <p>
        <button type="button" className="sg-button" onClick={onExplore}>
          Explore the schema without signing in
        </button>
      </p>
    </main>
  );
}
