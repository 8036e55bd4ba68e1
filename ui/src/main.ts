// The dashboard: finds out who the caller is (GET /whoami), asks for a token when the gateway wants one, then
// shows one daemon at a time and follows the live event stream.
import './styles.css';
import { ApiError, get, storeToken, storedToken, type Caller } from './api.js';
import { byId, h, replace } from './dom.js';
import { EventStream, type StreamState } from './events.js';
import { DaemonView, showNotice } from './views/daemon.js';

interface DaemonList {
  daemons: Array<{ name: string; default: boolean }>;
}

let view: DaemonView | null = null;
let stream: EventStream | null = null;

async function start(): Promise<void> {
  showNotice(null);
  let caller: Caller;
  try {
    caller = (await get<Caller>('/whoami')).body;
  } catch (err) {
    return signIn(err);
  }
  showCaller(caller);
  let daemons: DaemonList['daemons'];
  try {
    daemons = (await get<DaemonList>('/daemons')).body.daemons;
  } catch (err) {
    return fail(err);
  }
  const nav = byId('daemons');
  const buttons = daemons.map((d) =>
    h(
      'button',
      { type: 'button', 'aria-pressed': 'false', 'data-daemon': d.name, on: { click: () => void open(d.name) } },
      d.name,
    ),
  );
  replace(nav, ...buttons);
  const open = async (name: string) => {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset['daemon'] === name));
    view?.destroy();
    view = null;
    try {
      view = await DaemonView.open(name, caller);
      replace(byId('main'), view.el);
    } catch (err) {
      fail(err);
    }
  };
  stream = new EventStream('/events', { onEvent: (event) => view?.onEvent(event), onState: showStreamState });
  await open((daemons.find((d) => d.default) ?? daemons[0])!.name);
}

/** The sign-in form: why the gateway refused, and a field for a token (kept in this tab only). */
function signIn(err: unknown): void {
  const tried = storedToken() !== null;
  storeToken(null);
  const status = err instanceof ApiError ? err.status : 0;
  const detail = err instanceof ApiError ? err.problem.detail : (err as Error).message;
  const message =
    status === 401
      ? tried
        ? `The token was not accepted: ${detail}`
        : `This gateway needs credentials: ${detail}. Enter a bearer token (or use a browser with a client certificate).`
      : status === 403
        ? `The gateway refuses this browser: ${detail}`
        : `The gateway cannot be reached: ${detail}`;
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h(
    'form',
    {
      class: 'card signin',
      'aria-labelledby': 'signin-h',
      on: {
        submit: (event) => {
          event.preventDefault();
          storeToken(input.value.trim());
          void start();
        },
      },
    },
    h('h2', { id: 'signin-h' }, 'Sign in'),
    h('p', { class: 'status error', role: 'alert', id: 'signin-error' }, message),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Bearer token'), input),
    h(
      'p',
      { class: 'hint' },
      'The token stays in this browser tab only (session storage) and is sent in the Authorization header.',
    ),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Sign in')),
  );
  replace(byId('daemons'));
  replace(byId('caller'));
  replace(byId('main'), form);
  input.focus();
}

function showCaller(caller: Caller): void {
  const signOut =
    storedToken() === null
      ? null
      : h(
          'button',
          {
            type: 'button',
            on: {
              click: () => {
                stream?.stop();
                view?.destroy();
                storeToken(null);
                location.reload();
              },
            },
          },
          'Sign out',
        );
  replace(
    byId('caller'),
    h('span', { id: 'stream-state', role: 'status', class: 'stream' }, ''),
    h(
      'span',
      { 'data-caller': caller.name, 'data-role': caller.role },
      `${caller.kind === 'anonymous' ? 'local caller' : caller.name} · ${caller.role}`,
    ),
    signOut,
  );
}

function showStreamState(state: StreamState): void {
  const el = document.getElementById('stream-state');
  if (!el) return;
  el.dataset['state'] = state.state;
  el.textContent =
    state.state === 'live'
      ? 'live'
      : state.state === 'connecting'
        ? 'connecting…'
        : state.state === 'retrying'
          ? `reconnecting (${state.why})`
          : `events refused: ${state.problem.detail}`;
}

function fail(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) return signIn(err);
  showNotice(err instanceof ApiError ? `${err.problem.title}: ${err.problem.detail}` : String(err));
}

void start();
