// Building the page's DOM: elements, attributes and text only. Nothing here (or anywhere in the page) turns a
// string into HTML, which the page's Trusted Types policy would refuse anyway.

type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;
type Listeners = Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
type Attrs = { [name: string]: AttrValue | Listeners; on?: Listeners };

/** An element with attributes (false/null/undefined leave one out, true sets it empty), listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'on' || typeof value === 'object') continue;
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [type, listener] of Object.entries(attrs.on ?? {})) el.addEventListener(type, listener as EventListener);
  append(el, ...children);
  return el;
}

/** Appends children, skipping the empty ones. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** The element with this id; throws when the page lacks it. */
export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** A time as the browser's locale shows it, with the date when it is not today. */
export function formatTime(iso: string | number): string {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

/** A duration in words: 42 s, 3 min 5 s, 2 h 10 min, 3 d 4 h. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/**
 * Asks the user to confirm an action in the page's modal dialog; resolves true for Confirm, false for Cancel or
 * Escape.
 */
export function confirmAction(text: string, confirmLabel: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  const ok = byId<HTMLButtonElement>('confirm-ok');
  const cancel = byId<HTMLButtonElement>('confirm-cancel');
  byId('confirm-text').textContent = text;
  ok.textContent = confirmLabel;
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    const onClose = () => done(false);
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancel.focus();
  });
}

/** A status line under a form: role=status for news, role=alert for errors. */
export function statusLine(): { el: HTMLElement; ok(text: string): void; error(text: string): void; clear(): void } {
  const el = h('p', { class: 'status', 'aria-live': 'polite' });
  return {
    el,
    ok(text) {
      el.className = 'status ok';
      el.setAttribute('role', 'status');
      el.textContent = text;
    },
    error(text) {
      el.className = 'status error';
      el.setAttribute('role', 'alert');
      el.textContent = text;
    },
    clear() {
      el.className = 'status';
      el.removeAttribute('role');
      el.textContent = '';
    },
  };
}
