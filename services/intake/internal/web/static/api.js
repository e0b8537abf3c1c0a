// The API as the pages use it: JSON requests with the session's CSRF token
// (coordinators) or the link's bearer token (patients), problem details
// turned into errors with a readable message, and server-sent events read
// with fetch so that a bearer token can go with them.

// sentence makes a problem's detail read as a sentence on the page.
function sentence(s) {
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?…]$/.test(s) ? s : s + '.';
}

export class APIError extends Error {
  constructor(status, problem) {
    super(sentence((problem && (problem.detail || problem.title)) || `The server answered ${status}`));
    this.status = status;
    this.code = (problem && problem.code) || '';
  }
}

export const auth = { csrf: '', bearer: '' };

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (auth.bearer) headers.Authorization = 'Bearer ' + auth.bearer;
  if (auth.csrf && method !== 'GET') headers['X-CSRF-Token'] = auth.csrf;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError(0, { detail: 'The server cannot be reached: check your connection and try again.' });
  }
  if (resp.status === 204) return null;
  const type = resp.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await resp.json().catch(() => null) : null;
  if (!resp.ok) throw new APIError(resp.status, data);
  return data;
}

// events calls onEvent(name, data) for each server-sent event of a case
// until signal aborts; it reconnects after a dropped connection.
export async function events(caseID, onEvent, signal, onState) {
  while (!signal.aborted) {
    try {
      const headers = { Accept: 'text/event-stream' };
      if (auth.bearer) headers.Authorization = 'Bearer ' + auth.bearer;
      const resp = await fetch(`/v1/cases/${caseID}/events`, { headers, credentials: 'same-origin', signal });
      if (!resp.ok) {
        const p = await resp.json().catch(() => null);
        const err = new APIError(resp.status, p);
        if (onState) onState('error', err);
        if (resp.status === 401 || resp.status === 403 || resp.status === 404) return;
      } else {
        if (onState) onState('open');
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let name = 'message', data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) name = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) {
              try { onEvent(name, JSON.parse(data)); } catch (e) { /* a malformed event is skipped */ }
            }
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    if (onState) onState('reconnecting');
    await sleep(2000, signal);
  }
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

let labelsPromise;
// labels are the bilingual labels of the clinical vocabulary (parts,
// statuses, severities, fields, findings), read once.
export function labels() {
  if (!labelsPromise) labelsPromise = api('GET', '/v1/labels').catch(() => ({ parts: {}, statuses: {}, severities: {}, fields: {}, findings: {} }));
  return labelsPromise;
}

export function bytes(n) {
  if (n < 1024) return n + ' B';
  const units = ['KB', 'MB', 'GB', 'TB'];
  let u = -1;
  do { n /= 1024; u++; } while (n >= 1024 && u < units.length - 1);
  return n.toFixed(n < 10 ? 1 : 0) + ' ' + units[u];
}
