// The worker-pool plot of one server: current and free workers and the job queue over the samples the gateway
// keeps (GET .../samples). uPlot draws it on a canvas: some 50 kB minified for time axes, scaling, a cursor
// and a legend, and fast enough to redraw every second with an hour of points; it needs no inline script or
// style (it sets styles through the CSSOM), so the page's strict CSP holds.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.js';

/** The samples the plot shows, as the API sends them (time in Unix milliseconds). */
export interface PlotColumns {
  time: number[];
  currentWorkers: number[];
  freeWorkers: number[];
  jobQueueDepth: number[];
}

const SERIES = [
  { label: 'Current workers', key: 'currentWorkers', stroke: '#1f5fa6', dash: [] as number[] },
  { label: 'Free workers', key: 'freeWorkers', stroke: '#1e7b34', dash: [6, 3] },
  { label: 'Job queue', key: 'jobQueueDepth', stroke: '#b3261e', dash: [2, 2] },
] as const;

/** A plot in a figure with a caption; update() appends new samples and keeps at most `capacity` points. */
export class WorkerPlot {
  readonly el: HTMLElement;
  private readonly chart: uPlot;
  private data: [number[], number[], number[], number[]] = [[], [], [], []];
  private readonly resize: ResizeObserver;

  constructor(
    server: string,
    private readonly capacity: number,
  ) {
    const box = h('div', { class: 'plot-box' });
    this.el = h(
      'figure',
      { class: 'plot' },
      box,
      h('figcaption', {}, `Worker pool of ${server} over time (one sample per poll)`),
    );
    this.chart = new uPlot(
      {
        width: 480,
        height: 180,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.25))] } },
        axes: [{}, { size: 40 }],
        series: [
          {},
          ...SERIES.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            dash: [...s.dash],
            width: 2,
            points: { show: false },
          })),
        ],
      },
      this.data,
      box,
    );
    this.resize = new ResizeObserver(() => {
      const width = Math.max(240, Math.floor(box.clientWidth));
      if (width !== this.chart.width) this.chart.setSize({ width, height: 180 });
    });
    this.resize.observe(box);
  }

  /** Adds samples (newer than those shown) and redraws. */
  update(columns: PlotColumns): void {
    if (columns.time.length === 0) return;
    const [t, ...ys] = this.data;
    t.push(...columns.time.map((ms) => ms / 1000));
    SERIES.forEach((s, i) => ys[i]!.push(...columns[s.key]));
    const excess = t.length - this.capacity;
    if (excess > 0) for (const column of this.data) column.splice(0, excess);
    this.chart.setData(this.data);
  }

  /** Stops following the size of the page. */
  destroy(): void {
    this.resize.disconnect();
    this.chart.destroy();
  }
}
