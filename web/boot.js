// Starts the Leptos app. A file of its own, not an inline script: the server's
// Content-Security-Policy allows scripts from 'self' only.
import init from '/tandem_web.js';

init().catch((error) => {
  const p = document.createElement('p');
  p.className = 'error boot-error';
  p.setAttribute('role', 'alert');
  p.textContent = 'Tandem could not start in this browser: ' + error;
  document.body.append(p);
});
