// The web app: coordinators sign in, list and edit cases, upload, follow
// the pipeline, make patient links and bundles; a patient's link (/u/#token)
// opens an upload page for that one case.
import { api, auth, events, labels, bytes, APIError } from './api.js';
import { h, clear, toast, uid } from './dom.js';
import { uploadPanel, fileTable, checklist, factsView } from './components.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let session = null;
let pageAbort = new AbortController();

function newPage(title) {
  pageAbort.abort();
  pageAbort = new AbortController();
  document.title = title ? `${title} · Handoff` : 'Handoff';
  return pageAbort.signal;
}

function showError(e, where = main) {
  const msg = e instanceof APIError && e.status === 401 && !auth.bearer ? 'Your session has ended. Sign in again.' : (e.message || String(e));
  where.prepend(h('div', { class: 'alert', role: 'alert' }, msg));
  if (e instanceof APIError && e.status === 401 && !auth.bearer) { session = null; setTimeout(route, 1500); }
}

// ---------- the coordinator's pages ----------

function renderNav() {
  clear(nav);
  if (!session) return;
  const p = session.principal;
  nav.append(h('span', {}, p.kind === 'admin' ? 'Administrator' : `Coordinator ${p.id}`),
    h('a', { href: '#/', class: 'button secondary' }, 'Cases'),
    h('button', { class: 'secondary', onclick: signOut }, 'Sign out'));
}

async function signOut() {
  try { await api('DELETE', '/v1/session'); } catch (e) { /* signed out anyway */ }
  session = null; auth.csrf = '';
  location.hash = '#/';
  route();
}

function signInPage(message) {
  newPage('Sign in');
  renderNav();
  const err = h('div', { 'aria-live': 'assertive' });
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card signin', onsubmit: async (e) => {
    e.preventDefault();
    clear(err);
    try {
      session = await api('POST', '/v1/session', { token: input.value.trim() });
      auth.csrf = session.csrf_token;
      route();
    } catch (x) {
      clear(err, h('p', { class: 'alert', role: 'alert' }, x.message));
      input.focus();
    }
  } },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'muted' }, 'Coordinators sign in with the credential their administrator made for them (handoff token create); the administrator with the API token.'),
  message ? h('p', { class: 'notice' }, message) : null,
  h('label', { for: 'token' }, 'Credential'), input, err,
  h('p', {}, h('button', { type: 'submit' }, 'Sign in')));
  clear(main, form);
  input.focus();
}

const statusLabels = { new: 'new', processing: 'processing', incomplete: 'incomplete', ready: 'ready', bundled: 'bundled' };

async function casesPage() {
  const signal = newPage('Cases');
  const filterID = uid('status');
  const body = h('tbody');
  const more = h('button', { class: 'secondary', hidden: true }, 'Show more');
  const filter = h('select', { id: filterID }, h('option', { value: '' }, 'All'), Object.keys(statusLabels).map((s) => h('option', { value: s }, statusLabels[s])));
  let next = '';
  const load = async (reset) => {
    if (reset) { clear(body); next = ''; }
    const q = new URLSearchParams({ limit: '50' });
    if (filter.value) q.set('status', filter.value);
    if (next) q.set('cursor', next);
    try {
      const page = await api('GET', '/v1/cases?' + q, undefined, { signal });
      for (const c of page.cases) {
        const name = [c.patient.family_name, c.patient.given_name].filter(Boolean).join(', ') || '(no name yet)';
        body.append(h('tr', { 'data-case': c.id },
          h('td', {}, h('a', { href: `#/case/${c.id}` }, name), h('div', { class: 'muted' }, c.patient.birth_date || '')),
          h('td', { class: 'hide-narrow' }, c.procedure || ''),
          h('td', {}, h('span', { class: 'badge ' + c.status }, statusLabels[c.status] || c.status),
            c.missing.length ? h('div', { class: 'muted' }, `${c.missing.length} part(s) missing`) : null),
          h('td', { class: 'hide-narrow' }, new Date(c.created).toLocaleDateString())));
      }
      if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No cases yet.')));
      next = page.next || '';
      more.hidden = !next;
    } catch (e) { if (e.name !== 'AbortError') showError(e); }
  };
  filter.addEventListener('change', () => load(true));
  more.addEventListener('click', () => load(false));
  clear(main,
    h('div', { class: 'row between' }, h('h1', {}, 'Cases'), h('a', { class: 'button', href: '#/new' }, 'New case')),
    h('section', { class: 'card' },
      h('div', { class: 'row' }, h('label', { for: filterID, class: 'inline' }, 'Status'), filter),
      h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Cases' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Patient'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Procedure'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Created'))),
        body)), more));
  await load(true);
}

// The case form: the patient's identity and the one-page summary's fields.
const summaryFields = [
  ['age', 'Age', 'number'], ['height', 'Height', 'text', 'as written: 5 ft 6 in, 168 cm'], ['weight', 'Weight', 'text', 'as written: 158 lb, 72 kg'],
  ['allergies', 'Allergies', 'text', 'with the reaction: Penicillin (hives)'],
  ['procedure', 'Procedure sought', 'text', 'exact: total right hip replacement'],
  ['symptom_history', 'Symptom history', 'textarea', 'when it started, how it progressed'],
  ['us_recommendation', 'US recommendation', 'textarea'], ['quoted_cost', 'Quoted cost (US)', 'text'],
  ['reason_abroad', 'Reason for care abroad', 'textarea', 'cost, wait time, insurance denial'],
];
const conditionFields = [['diabetes', 'Diabetes'], ['prediabetes', 'Prediabetes'], ['heart_disease', 'Heart disease'], ['respiratory', 'Respiratory disease'], ['blood_thinners', 'Takes blood thinners']];

function field(id, label, type, hint, value) {
  const attrs = { id, name: id };
  const input = type === 'textarea' ? h('textarea', attrs, value || '') : h('input', { ...attrs, type, value: value ?? '', min: type === 'number' ? 0 : null, max: type === 'number' ? 130 : null });
  return h('div', {}, h('label', { for: id }, label, hint ? [' ', h('small', {}, hint)] : null), input);
}

async function casePage(id, edit) {
  const signal = newPage(edit ? 'Edit case' : 'Case');
  const L = await labels();
  let c = null;
  if (id) {
    try { c = await api('GET', `/v1/cases/${id}`, undefined, { signal }); } catch (e) { if (e.name !== 'AbortError') { clear(main); showError(e); } return; }
  }
  if (!id || edit) return caseForm(c, L);
  const files = new Map(c.files.map((f) => [f.id, f]));
  let report = null;
  const header = h('div');
  const filesBox = h('div', { 'aria-live': 'off' });
  const checklistBox = h('div');
  const factsBox = h('div');
  const bundlesBox = h('div');
  const linksBox = h('div');
  const live = h('p', { class: 'muted', 'aria-live': 'polite' });
  const renderHeader = () => {
    const name = [c.patient.family_name, c.patient.given_name].filter(Boolean).join(', ') || '(no name yet)';
    clear(header, h('div', { class: 'row between' },
      h('h1', {}, name),
      h('div', { class: 'row' }, h('a', { class: 'button secondary', href: `#/case/${c.id}/edit` }, 'Edit case'),
        h('a', { class: 'button secondary', href: `/v1/cases/${c.id}/report?format=html`, target: '_blank', rel: 'noopener' }, 'Printable checklist'),
        h('button', { class: 'danger', onclick: () => deleteCase(c) }, 'Delete case'))),
    h('p', { class: 'muted' }, [c.patient.birth_date && `Born ${c.patient.birth_date}`, c.summary.procedure].filter(Boolean).join(' · ')));
  };
  let scheduled = false;
  const redraw = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      clear(filesBox, fileTable(files, c.id, { download: true }));
      clear(checklistBox, checklist(report, L));
      clear(factsBox, factsView(report && report.facts, L));
      renderBundles();
    });
  };
  const renderBundles = () => {
    const list = (c.bundles || []).slice().reverse();
    clear(bundlesBox,
      h('div', { class: 'row' }, h('button', { onclick: requestBundle }, 'Make bundle')),
      list.length ? h('ul', { class: 'uploads', 'aria-label': 'Bundles' }, list.map((b) => {
        const revoked = !!b.revoked;
        return h('li', { 'data-version': b.version },
          h('div', { class: 'row' }, h('strong', {}, `Version ${b.version}`), h('span', { class: 'muted' }, `${bytes(b.size)} · ${new Date(b.created).toLocaleString()}`),
            revoked ? h('span', { class: 'badge revoked' }, 'revoked') : h('span', { class: 'muted' }, `link works until ${new Date(b.expires).toLocaleDateString()}`)),
          revoked ? null : h('div', { class: 'row' },
            h('a', { class: 'button secondary', href: `/v1/cases/${c.id}/bundle?version=${b.version}`, download: b.name, 'data-testid': 'download' }, 'Download'),
            h('button', { class: 'danger', onclick: () => revokeBundle(b) }, 'Revoke')),
          h('div', { class: 'muted' }, `SHA-256 ${b.sha256}`));
      })) : h('p', { class: 'muted' }, 'No bundle yet.'));
  };
  const requestBundle = async () => {
    try { await api('POST', `/v1/cases/${c.id}/bundle`); toast('Bundle requested; it appears here when ready.'); } catch (e) { showError(e, bundlesBox); }
  };
  const revokeBundle = async (b) => {
    if (!confirm(`Revoke version ${b.version}? Its link will stop working.`)) return;
    try { await api('DELETE', `/v1/cases/${c.id}/bundles/${b.version}`); toast(`Version ${b.version} revoked.`); } catch (e) { showError(e, bundlesBox); }
  };
  const renderLinks = async () => {
    let links = [];
    try { links = await api('GET', `/v1/cases/${c.id}/links`, undefined, { signal }); } catch (e) { if (e.name !== 'AbortError') showError(e, linksBox); return; }
    const made = h('div', { 'aria-live': 'polite' });
    const expID = uid('expires');
    const exp = h('select', { id: expID }, [['24h', '1 day'], ['72h', '3 days'], ['168h', '7 days'], ['720h', '30 days']].map(([v, t]) => h('option', { value: v, selected: v === '168h' }, t)));
    clear(linksBox,
      h('p', { class: 'muted' }, 'A link lets the patient add photos and PDFs to this case and see what is still missing, nothing else. It carries no patient data.'),
      h('div', { class: 'row' }, h('label', { for: expID, class: 'inline' }, 'Works for'), exp,
        h('button', { onclick: async () => {
          try {
            const l = await api('POST', `/v1/cases/${c.id}/links`, { expires_in: exp.value });
            await renderLinks();
            linksBox.prepend(h('div', { class: 'notice', 'data-testid': 'new-link' }, h('p', {}, 'Send this link to the patient (it is shown once):'), h('code', { class: 'link' }, l.url),
              h('button', { class: 'secondary', onclick: () => navigator.clipboard && navigator.clipboard.writeText(l.url).then(() => toast('Link copied.')) }, 'Copy link')));
          } catch (e) { showError(e, linksBox); }
        } }, 'Make patient link')), made,
      links.length ? h('ul', { class: 'uploads', 'aria-label': 'Patient links' }, links.map((l) => h('li', { 'data-link': l.id },
        h('div', { class: 'row' }, h('span', {}, `Link made ${new Date(l.created).toLocaleString()}`),
          l.revoked ? h('span', { class: 'badge revoked' }, 'revoked') : new Date(l.expires) < new Date() ? h('span', { class: 'badge' }, 'expired') : h('span', { class: 'muted' }, `until ${new Date(l.expires).toLocaleString()}`),
          l.revoked ? null : h('button', { class: 'danger', onclick: async () => { try { await api('DELETE', `/v1/cases/${c.id}/links/${l.id}`); renderLinks(); toast('Link revoked.'); } catch (e) { showError(e, linksBox); } } }, 'Revoke'))))) : null);
  };
  renderHeader();
  clear(main, header,
    h('div', { class: 'grid' },
      h('div', {}, uploadPanel(c.id, {}),
        h('section', { class: 'card' }, h('h2', {}, 'Files'), live, filesBox)),
      h('div', {},
        h('section', { class: 'card' }, h('h2', {}, 'Checklist ', h('span', { class: 'zh', lang: 'zh' }, '清单')), checklistBox),
        h('section', { class: 'card' }, h('h2', {}, 'Read from the documents'), factsBox),
        h('section', { class: 'card' }, h('h2', {}, 'Bundle'), bundlesBox),
        h('section', { class: 'card' }, h('h2', {}, 'Patient links'), linksBox))));
  redraw();
  renderLinks();
  events(c.id, (name, data) => {
    if (name === 'file') files.set(data.id, data);
    else if (name === 'report') report = data;
    else if (name === 'case') { c = { ...c, ...data, files: undefined, bundles: c.bundles }; renderHeader(); }
    else if (name === 'bundles') c = { ...c, bundles: data };
    redraw();
  }, signal, (state, err) => {
    live.textContent = state === 'open' ? 'Live: files update as they are processed.' : state === 'reconnecting' ? 'Connection lost; reconnecting…' : (err ? err.message : '');
  });
}

async function deleteCase(c) {
  if (!confirm('Delete this case and every file, bundle and record of it? This cannot be undone.')) return;
  try { await api('DELETE', `/v1/cases/${c.id}`); toast('Case deleted.'); location.hash = '#/'; } catch (e) { showError(e); }
}

function caseForm(c, L) {
  const s = (c && c.summary) || {}, p = (c && c.patient) || {}, cond = s.conditions || {};
  const err = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const str = (k) => (f.get(k) || '').toString().trim();
    const body = {
      patient: { family_name: str('family_name'), given_name: str('given_name'), birth_date: str('birth_date'), sex: str('sex') },
      summary: {
        age: str('age') ? parseInt(str('age'), 10) : 0, height: str('height'), weight: str('weight'), allergies: str('allergies'), procedure: str('procedure'),
        symptom_history: str('symptom_history'), us_recommendation: str('us_recommendation'), quoted_cost: str('quoted_cost'), reason_abroad: str('reason_abroad'),
        conditions: { ...Object.fromEntries(conditionFields.map(([k]) => [k, f.get(k) === 'on'])),
          prior_surgeries: str('prior_surgeries').split('\n').map((x) => x.trim()).filter(Boolean), other: str('other') },
        medications: str('medications').split('\n').map((x) => x.trim()).filter(Boolean),
      },
      reference_date: str('reference_date'),
    };
    try {
      let id = c && c.id;
      if (id) await api('PATCH', `/v1/cases/${id}`, body);
      else id = (await api('POST', '/v1/cases', body)).id;
      location.hash = `#/case/${id}`;
    } catch (x) { clear(err, h('p', { class: 'alert', role: 'alert' }, x.message)); }
  } },
  h('h1', {}, c ? 'Edit case' : 'New case'),
  h('fieldset', {}, h('legend', {}, 'Patient (as on the passport)'),
    h('div', { class: 'form-grid' },
      field('family_name', 'Family name', 'text', '', p.family_name), field('given_name', 'Given name', 'text', '', p.given_name),
      field('birth_date', 'Date of birth', 'date', '', p.birth_date),
      h('div', {}, h('label', { for: 'sex' }, 'Sex'), h('select', { id: 'sex', name: 'sex' }, [['', '—'], ['F', 'Female'], ['M', 'Male'], ['X', 'Other']].map(([v, t]) => h('option', { value: v, selected: p.sex === v }, t)))))),
  h('fieldset', {}, h('legend', {}, 'Case summary'),
    h('div', { class: 'form-grid' }, summaryFields.slice(0, 4).map(([k, l, t, hint]) => field(k, l, t, hint, k === 'age' ? (s.age || '') : s[k]))),
    summaryFields.slice(4).map(([k, l, t, hint]) => field(k, l, t, hint, s[k])),
    h('fieldset', { class: 'checks' }, h('legend', {}, 'Complicating conditions'),
      conditionFields.map(([k, l]) => h('label', {}, h('input', { type: 'checkbox', name: k, checked: !!cond[k] }), l))),
    field('prior_surgeries', 'Prior surgeries', 'textarea', 'one per line', (cond.prior_surgeries || []).join('\n')),
    field('other', 'Other conditions', 'text', '', cond.other),
    field('medications', 'Medications', 'textarea', 'one per line, with dose: apixaban 5 mg twice daily', (s.medications || []).join('\n')),
    field('reference_date', 'Reference date', 'date', 'labs are judged recent against this day; empty: today', c && c.reference_date)),
  err,
  h('div', { class: 'row' }, h('button', { type: 'submit' }, c ? 'Save' : 'Create case'), h('a', { class: 'button secondary', href: c ? `#/case/${c.id}` : '#/' }, 'Cancel')));
  clear(main, form);
  form.querySelector('input').focus();
}

async function route() {
  if (location.pathname.startsWith('/u/')) return linkPage();
  if (!session) {
    try {
      const s = await api('GET', '/v1/session');
      if (s && s.principal && s.csrf_token) { session = s; auth.csrf = s.csrf_token; }
    } catch (e) { /* not signed in */ }
  }
  if (!session) return signInPage();
  renderNav();
  const hash = location.hash.replace(/^#/, '') || '/';
  let m;
  if (hash === '/new') await casePage(null, true);
  else if ((m = hash.match(/^\/case\/([a-z0-9]+)\/edit$/))) await casePage(m[1], true);
  else if ((m = hash.match(/^\/case\/([a-z0-9]+)$/))) await casePage(m[1], false);
  else await casesPage();
  main.focus({ preventScroll: true });
}

// ---------- the patient's page ----------

async function linkPage() {
  const signal = newPage('Add your records');
  // The token leaves the address bar and history; this tab keeps it for a reload.
  let token = decodeURIComponent(location.hash.replace(/^#/, ''));
  if (token) {
    sessionStorage.setItem('handoff.link', token);
    history.replaceState(null, '', '/u/');
  } else {
    token = sessionStorage.getItem('handoff.link') || '';
  }
  if (!token) {
    clear(main, h('div', { class: 'card' }, h('h1', {}, 'Add your records'), h('p', { class: 'alert', role: 'alert' }, 'This page needs the link your coordinator sent you. Open the whole link from the message.')));
    return;
  }
  auth.bearer = token;
  let link;
  try { link = await api('GET', '/v1/link', undefined, { signal }); } catch (e) {
    clear(main, h('div', { class: 'card' }, h('h1', {}, 'Add your records'), h('p', { class: 'alert', role: 'alert' }, e.message)));
    return;
  }
  const L = await labels();
  const files = new Map();
  let report = null;
  const filesBox = h('div');
  const checkBox = h('div');
  const redraw = () => { clear(filesBox, fileTable(files, link.case_id)); clear(checkBox, checklist(report, L, { patient: true })); };
  clear(main,
    h('h1', {}, 'Add your records'),
    h('p', { class: 'muted' }, `This link works until ${new Date(link.expires).toLocaleString()}. Photos of lab results, reports, your medication list and your passport page are welcome; imaging CDs are best sent by your coordinator.`),
    uploadPanel(link.case_id, { patient: true }),
    h('section', { class: 'card' }, h('h2', {}, 'What is still missing'), checkBox),
    h('section', { class: 'card' }, h('h2', {}, 'Your files'), filesBox));
  redraw();
  events(link.case_id, (name, data) => {
    if (name === 'file') files.set(data.id, data);
    else if (name === 'report') report = data;
    redraw();
  }, signal, (state, err) => { if (state === 'error' && err) showError(err); });
}

window.addEventListener('hashchange', () => { if (!location.pathname.startsWith('/u/')) route(); });
route();
