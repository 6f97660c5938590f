// Monaco's web workers, bundled by Vite (no CDN).
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './playground.css';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './App.jsx';
import { loadSession, pickJobId } from './session.js';

const session = await loadSession();
const jobId = session.state === 'signed-in' ? await pickJobId() : null;

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App session={session} jobId={jobId} />
  </StrictMode>,
);
