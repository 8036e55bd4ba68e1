/**
 * The daemon's auto-shutdown timer (virNetDaemonAutoShutdown / virNetDaemonShutdownTimerUpdate in
 * src/rpc/virnetdaemon.c): with a timeout > 0 and no client on any server, the daemon quits after `timeout`
 * seconds; a client arriving disarms the timer, the last one leaving re-arms it with the full timeout.
 *
 * libvirt's quirk is kept: changing a non-zero timeout while the timer already runs does not restart it (only
 * arming uses the value); setting 0 disarms it.
 */

/** setTimeout's largest delay; longer timeouts (up to 2^32-1 s are accepted) are waited for in steps. */
const MAX_DELAY_MS = 0x7fffffff;

export class AutoShutdown {
  private timeoutSeconds = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadline = 0;
  private running = false;

  constructor(
    private readonly hasClients: () => boolean,
    private readonly onExpire: () => void,
  ) {}

  /** The timeout in seconds; 0 means never. */
  get timeout(): number {
    return this.timeoutSeconds;
  }

  /** True while the countdown runs. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** The daemon reached its running phase: from now on the timer follows the clients (libvirt's dmn->running). */
  start(): void {
    this.running = true;
    this.update();
  }

  /** CONNECT_SET_DAEMON_TIMEOUT. */
  setTimeout(seconds: number): void {
    this.timeoutSeconds = seconds;
    if (this.running) this.update();
  }

  /** Re-evaluate after the client count changed. */
  update(): void {
    if (!this.running) return;
    if (this.timer !== undefined) {
      if (this.hasClients() || this.timeoutSeconds === 0) this.disarm();
    } else if (!this.hasClients() && this.timeoutSeconds !== 0) {
      this.deadline = Date.now() + this.timeoutSeconds * 1000;
      this.schedule();
    }
  }

  /** Stops for good (daemon shutdown). */
  stop(): void {
    this.running = false;
    this.disarm();
  }

  private schedule(): void {
    const left = this.deadline - Date.now();
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (this.deadline > Date.now()) {
          this.schedule();
          return;
        }
        this.running = false;
        this.onExpire();
      },
      Math.min(Math.max(left, 0), MAX_DELAY_MS),
    );
    // The timer must not keep the host process alive by itself.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
