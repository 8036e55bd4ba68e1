// One card per server: the worker pool and client counts as gauges (against their limits), their plot over time,
// and, for operators, forms to change the pool and the limits (read with their ETag, sent with If-Match).
import { allows, change, daemonPath, describeError, get, type Role } from '../api.js';
import { confirmAction, h, statusLine } from '../dom.js';
import { WorkerPlot, type PlotColumns } from '../plot.js';

/** The latest figures of a server (a sample, or GET /servers/{server}). */
export interface Figures {
  currentWorkers: number;
  freeWorkers: number;
  jobQueueDepth: number;
  minWorkers: number;
  maxWorkers: number;
  prioWorkers: number;
  currentClients: number;
  maxClients: number;
  currentUnauthClients: number;
  maxUnauthClients: number;
}

/** GET /servers/{server}. */
export interface ServerJson {
  name: string;
  threadpool: Omit<Figures, 'currentClients' | 'maxClients' | 'currentUnauthClients' | 'maxUnauthClients'>;
  clientLimits: Pick<Figures, 'currentClients' | 'maxClients' | 'currentUnauthClients' | 'maxUnauthClients'>;
}

/** A settings form: which resource, its fields and the words for it. */
interface SettingsForm {
  resource: 'threadpool' | 'client-limits';
  title: string;
  fields: ReadonlyArray<{ key: keyof Figures; label: string }>;
}

const FORMS: readonly SettingsForm[] = [
  {
    resource: 'threadpool',
    title: 'Change worker pool',
    fields: [
      { key: 'minWorkers', label: 'Minimum workers' },
      { key: 'maxWorkers', label: 'Maximum workers' },
      { key: 'prioWorkers', label: 'Priority workers' },
    ],
  },
  {
    resource: 'client-limits',
    title: 'Change client limits',
    fields: [
      { key: 'maxClients', label: 'Maximum clients' },
      { key: 'maxUnauthClients', label: 'Maximum unauthenticated clients' },
    ],
  },
];

/** The card of one server. */
export class ServerCard {
  readonly el: HTMLElement;
  private readonly values = new Map<keyof Figures, HTMLElement>();
  private readonly meters = new Map<string, HTMLMeterElement>();
  private readonly plot: WorkerPlot;

  constructor(
    private readonly daemon: string,
    readonly server: string,
    role: Role,
    capacity: number,
  ) {
    const id = `srv-${cssId(server)}`;
    this.plot = new WorkerPlot(server, capacity);
    this.el = h(
      'article',
      { class: 'card server', 'data-server': server, 'aria-labelledby': `${id}-h` },
      h('h3', { id: `${id}-h` }, `Server ${server}`),
      h(
        'div',
        { class: 'gauges' },
        this.gauge(`${id}-workers`, 'Workers', 'currentWorkers', 'maxWorkers'),
        this.gauge(`${id}-clients`, 'Clients', 'currentClients', 'maxClients'),
        this.gauge(`${id}-unauth`, 'Unauthenticated clients', 'currentUnauthClients', 'maxUnauthClients'),
      ),
      h(
        'dl',
        { class: 'figures' },
        ...this.figure('Free workers', 'freeWorkers'),
        ...this.figure('Job queue', 'jobQueueDepth'),
        ...this.figure('Minimum workers', 'minWorkers'),
        ...this.figure('Priority workers', 'prioWorkers'),
      ),
      this.plot.el,
      ...(allows(role, 'operator') ? FORMS.map((form) => this.settingsForm(form)) : []),
    );
  }

  /** Shows the latest figures. */
  show(figures: Figures): void {
    for (const [key, el] of this.values) el.textContent = String(figures[key]);
    for (const [key, meter] of this.meters) {
      const [value, max] = key.split('/') as [keyof Figures, keyof Figures];
      meter.max = Math.max(1, figures[max]);
      meter.value = figures[value];
      meter.high = meter.max * 0.8;
    }
  }

  /** Adds samples to the plot. */
  plotSamples(columns: PlotColumns): void {
    this.plot.update(columns);
  }

  destroy(): void {
    this.plot.destroy();
  }

  private gauge(id: string, label: string, value: keyof Figures, max: keyof Figures): HTMLElement {
    const meter = h('meter', { id, min: 0, value: 0, max: 1 });
    this.meters.set(`${value}/${max}`, meter);
    const current = h('span', { 'data-field': value }, '–');
    const limit = h('span', { 'data-field': max }, '–');
    this.values.set(value, current);
    this.values.set(max, limit);
    return h(
      'div',
      { class: 'gauge' },
      h('label', { for: id }, label),
      meter,
      h('span', { class: 'count' }, current, ' of ', limit),
    );
  }

  private figure(label: string, key: keyof Figures): HTMLElement[] {
    const value = h('dd', { 'data-field': key }, '–');
    this.values.set(key, value);
    return [h('dt', {}, label), value];
  }

  /** A form that reads the resource (with its ETag) when opened and changes it with If-Match. */
  private settingsForm(form: SettingsForm): HTMLElement {
    const path = daemonPath(this.daemon, 'servers', this.server, form.resource);
    const status = statusLine();
    const inputs = new Map<keyof Figures, HTMLInputElement>();
    let etag: string | null = null;
    // Fields the user typed in since the last read began: a read that lands afterwards leaves them alone.
    const touched = new Set<HTMLInputElement>();
    const idBase = `srv-${cssId(this.server)}-${form.resource}`;
    const fields = form.fields.map(({ key, label }) => {
      const input = h('input', {
        id: `${idBase}-${key}`,
        name: key,
        type: 'number',
        min: 0,
        step: 1,
        required: true,
        inputmode: 'numeric',
      });
      input.addEventListener('input', () => touched.add(input));
      inputs.set(key, input);
      return h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
    });
    const load = async () => {
      status.clear();
      touched.clear();
      try {
        const answer = await get<Figures>(path);
        // What was typed meanwhile keeps the ETag of the values it was typed over (this read's, on first opening).
        if (touched.size === 0 || etag === null) etag = answer.etag;
        for (const [key, input] of inputs) if (!touched.has(input)) input.value = String(answer.body[key]);
      } catch (err) {
        status.error(describeError(err, 'Reading the current values'));
      }
    };
    const submit = h('button', { type: 'submit' }, 'Apply');
    const reload = h('button', { type: 'button', on: { click: () => void load() } }, 'Reload values');
    const el = h(
      'form',
      {
        class: 'settings',
        'aria-label': `${form.title} of ${this.server}`,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.apply(
              form,
              path,
              inputs,
              () => etag,
              (next) => (etag = next),
              status,
            );
          },
        },
      },
      ...fields,
      h('div', { class: 'buttons' }, submit, reload),
      status.el,
    );
    const details = h(
      'details',
      { class: 'edit', on: { toggle: () => details.open && void load() } },
      h('summary', {}, form.title),
      el,
    );
    return details;
  }

  private async apply(
    form: SettingsForm,
    path: string,
    inputs: Map<keyof Figures, HTMLInputElement>,
    etag: () => string | null,
    setEtag: (etag: string | null) => void,
    status: ReturnType<typeof statusLine>,
  ): Promise<void> {
    const body: Record<string, number> = {};
    for (const [key, input] of inputs) {
      if (!input.checkValidity())
        return status.error(`${input.labels?.[0]?.textContent ?? key}: ${input.validationMessage}`);
      body[key] = Number(input.value);
    }
    const text = form.fields.map((f) => `${f.label.toLowerCase()} ${body[f.key]}`).join(', ');
    if (!(await confirmAction(`Set ${text} on server ${this.server} of ${this.daemon}?`, 'Apply'))) return;
    try {
      const answer = await change<Figures>('PATCH', path, body, etag());
      setEtag(answer.etag);
      status.ok(`Done: ${text}.`);
    } catch (err) {
      status.error(describeError(err, form.title));
    }
  }
}

/** A server name as part of an element id (ids must not hold spaces). */
export function cssId(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}
