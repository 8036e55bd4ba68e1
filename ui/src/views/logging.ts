// The daemon's log outputs and filters, and for admins an editor that checks each string as libvirt reads it
// (the gateway's own parser, bundled into the page) while it is typed, then sends it with If-Match. The gateway
// checks everything again, with its policy (allowed log folders) on top.
import { parseFilters } from '../../../src/admin/logging/filters.js';
import { parseOutputs } from '../../../src/admin/logging/outputs.js';
import { allows, change, daemonPath, describeError, get, type Role } from '../api.js';
import { confirmAction, h, replace, statusLine } from '../dom.js';

/** GET /daemons/{daemon}/logging. */
interface Logging {
  outputs: Array<{ priority: string; level: number; destination: string; path?: string; ident?: string }>;
  filters: Array<{ priority: string; level: number; match: string }>;
  raw: { outputs: string; filters: string };
}

/** The message of the first token libvirt would refuse, or null when the whole string reads. */
export function checkOutputs(text: string): string | null {
  try {
    parseOutputs(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The same for filters. */
export function checkFilters(text: string): string | null {
  try {
    parseFilters(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The logging section of one daemon. */
export class LoggingPanel {
  readonly el: HTMLElement;
  private readonly outputsList = h('ul', { 'data-logging': 'outputs' });
  private readonly filtersList = h('ul', { 'data-logging': 'filters' });
  private readonly status = statusLine();
  /** The ETag of the values the editor was filled with: what a change is sent with (If-Match). */
  private etag: string | null = null;
  private editor: { outputs: HTMLInputElement; filters: HTMLInputElement } | null = null;
  /** Counts the user's edits: a read that was under way while the user typed must not overwrite the typing. */
  private edits = 0;

  constructor(
    private readonly daemon: string,
    role: Role,
  ) {
    this.el = h(
      'div',
      { class: 'logging' },
      h(
        'div',
        { class: 'columns' },
        h('div', {}, h('h3', {}, 'Outputs'), this.outputsList),
        h('div', {}, h('h3', {}, 'Filters'), this.filtersList),
      ),
      allows(role, 'admin') ? this.editorForm() : null,
      this.status.el,
    );
  }

  /** Reads the settings (and their ETag) again; `intoEditor` also resets the editor to them. */
  async refresh(intoEditor = false): Promise<void> {
    const editsBefore = this.edits;
    let answer;
    try {
      answer = await get<Logging>(daemonPath(this.daemon, 'logging'));
    } catch (err) {
      this.status.error(describeError(err, 'Reading the logging settings'));
      return;
    }
    const logging = answer.body;
    replace(
      this.outputsList,
      ...logging.outputs.map((o) =>
        h('li', {}, `${o.priority} → ${o.destination}${o.path ? ` ${o.path}` : ''}${o.ident ? ` (${o.ident})` : ''}`),
      ),
    );
    if (logging.outputs.length === 0) replace(this.outputsList, h('li', {}, 'the daemon’s default'));
    replace(this.filtersList, ...logging.filters.map((f) => h('li', {}, `${f.priority}: ${f.match}`)));
    if (logging.filters.length === 0) replace(this.filtersList, h('li', {}, 'none'));
    // The editor keeps what the user is typing, and the ETag of the values it started from: a change made
    // elsewhere meanwhile then fails with 412 instead of being overwritten unseen. What the user typed while this
    // read was under way stays, with the ETag of the values it was typed over.
    if (this.editor && (intoEditor || this.etag === null) && this.edits === editsBefore) {
      this.editor.outputs.value = logging.raw.outputs;
      this.editor.filters.value = logging.filters.map((f) => `${f.level}:${f.match}`).join(' ');
      this.etag = answer.etag;
      this.validate();
    }
  }

  private editorForm(): HTMLElement {
    const field = (name: 'outputs' | 'filters', label: string, hint: string) => {
      const input = h('input', {
        id: `log-${name}`,
        name,
        type: 'text',
        spellcheck: 'false',
        autocomplete: 'off',
        'aria-describedby': `log-${name}-hint log-${name}-error`,
      });
      const error = h('p', { id: `log-${name}-error`, class: 'field-error', 'aria-live': 'polite' });
      input.addEventListener('input', () => {
        this.edits++;
        this.validate();
      });
      return {
        input,
        el: h(
          'div',
          { class: 'field wide' },
          h('label', { for: input.id }, label),
          input,
          h('p', { id: `log-${name}-hint`, class: 'hint' }, hint),
          error,
        ),
      };
    };
    const outputs = field(
      'outputs',
      'Outputs',
      'libvirt syntax, e.g. 3:stderr 1:file:/var/log/libvirt/debug.log; empty for the daemon’s default',
    );
    const filters = field('filters', 'Filters', 'libvirt syntax, e.g. 3:remote 4:event; empty for none');
    this.editor = { outputs: outputs.input, filters: filters.input };
    const submit = h('button', { type: 'submit', id: 'log-save' }, 'Apply');
    const reload = h('button', { type: 'button', on: { click: () => void this.refresh(true) } }, 'Reload values');
    const details: HTMLDetailsElement = h(
      'details',
      { class: 'edit', on: { toggle: () => details.open && void this.refresh(true) } },
      h('summary', {}, 'Change logging'),
      h(
        'form',
        { 'aria-label': 'Change logging', on: { submit: (e) => (e.preventDefault(), void this.apply()) } },
        outputs.el,
        filters.el,
        h('div', { class: 'buttons' }, submit, reload),
      ),
    );
    return details;
  }

  /** Marks each field with libvirt's complaint about it; true when both read. */
  private validate(): boolean {
    if (!this.editor) return false;
    let ok = true;
    for (const [name, check] of [
      ['outputs', checkOutputs],
      ['filters', checkFilters],
    ] as const) {
      const input = this.editor[name];
      const problem = check(input.value);
      input.setAttribute('aria-invalid', String(problem !== null));
      const error = document.getElementById(`log-${name}-error`);
      if (error) error.textContent = problem ?? '';
      if (problem !== null) ok = false;
    }
    const save = document.getElementById('log-save') as HTMLButtonElement | null;
    if (save) save.disabled = !ok;
    return ok;
  }

  private async apply(): Promise<void> {
    if (!this.editor || !this.validate()) return;
    const body = { outputs: this.editor.outputs.value, filters: this.editor.filters.value };
    const shown = `outputs “${body.outputs || '(default)'}” and filters “${body.filters || '(none)'}”`;
    if (!(await confirmAction(`Set ${shown} on ${this.daemon}?`, 'Apply'))) return;
    try {
      await change('PATCH', daemonPath(this.daemon, 'logging'), body, this.etag);
      this.status.ok(`Logging of ${this.daemon} changed.`);
      await this.refresh(true);
    } catch (err) {
      this.status.error(describeError(err, 'Changing logging'));
    }
  }
}
