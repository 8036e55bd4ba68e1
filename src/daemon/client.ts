import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { LogLevel } from '../admin/logging/priority.js';
import { ClientTransport } from '../admin/constants.js';
import type { ClientRef } from '../admin/types.js';
import { ConnectionClosedError } from '../rpc/errors.js';
import { FrameStream } from '../rpc/frame-stream.js';
import type { Message } from '../rpc/message.js';
import { LogCategory, type DaemonLog } from './log.js';
import type { PeerCredentials } from './peer-credentials.js';
import { groupName, userName } from './user-names.js';

/**
 * One connection of a server (libvirt's virNetServerClient): it reads frames, hands each to its server, writes
 * the replies, and throttles like libvirt: once `maxRequests` messages are being processed it stops reading from
 * the socket until one is answered (frames already read wait here, in order).
 */

/** The identity libvirt records for a local client: SO_PEERCRED plus the names of the uid and gid. */
export interface PeerIdentity extends PeerCredentials {
  userName?: string;
  groupName?: string;
}

export interface ServerClientOptions {
  id: bigint;
  serverName: string;
  socket: Socket;
  readonly: boolean;
  /** max_client_requests. */
  maxRequests: number;
  /** The peer's credentials (null when the OS does not tell); may still be pending. */
  credentials: Promise<PeerCredentials | null>;
  log: DaemonLog;
}

export interface ServerClientEvents {
  close: [];
}

/** A connected client of a server. */
export class ServerClient extends EventEmitter<ServerClientEvents> {
  readonly id: bigint;
  readonly serverName: string;
  readonly readonly: boolean;
  /** Connect time, Unix seconds. */
  readonly timestamp: bigint;
  readonly transport = ClientTransport.UNIX;
  private readonly stream: FrameStream;
  private readonly maxRequests: number;
  private readonly log: DaemonLog;
  private readonly credentials: Promise<PeerIdentity | null>;
  private readonly waiting: Message[] = [];
  private inFlight = 0;
  private warnedLimit = false;
  private hasIdentity = false;
  private closeAfterReply = false;
  private closeScheduled = false;
  private closing = false;
  private handler: (client: ServerClient, msg: Message) => void = () => {};

  constructor(options: ServerClientOptions) {
    super();
    this.id = options.id;
    this.serverName = options.serverName;
    this.readonly = options.readonly;
    this.timestamp = BigInt(Math.floor(Date.now() / 1000));
    this.maxRequests = options.maxRequests;
    this.log = options.log;
    this.credentials = options.credentials.then((c) => (c ? withNames(c) : null));
    // FrameStream answers PINGs, closes on a bad length word and never pings on its own (intervalSeconds 0):
    // libvirtd's admin server does not start keepalive either, and virt-admin has no handler for it.
    this.stream = new FrameStream(options.socket);
    this.stream.on('message', (msg) => this.onMessage(msg));
    this.stream.once('close', () => {
      this.closing = true;
      this.waiting.length = 0;
      this.emit('close');
    });
  }

  /** Starts reading: the service accepted the socket paused. */
  start(handler: (client: ServerClient, msg: Message) => void): void {
    this.handler = handler;
    this.stream.socket.resume();
  }

  /** The client as the admin API lists it. */
  ref(): ClientRef {
    return { server: { name: this.serverName }, id: this.id, timestamp: this.timestamp, transport: this.transport };
  }

  get closed(): boolean {
    return this.stream.closed;
  }

  /**
   * libvirt creates a client's identity lazily, when the first call reaches a procedure; until then its client
   * info fails. The admin program calls this for each call it runs.
   */
  establishIdentity(): void {
    this.hasIdentity = true;
  }

  /** The identity for client info: undefined when none was established, null inside when the OS did not tell. */
  async identity(): Promise<{ creds: PeerIdentity | null } | undefined> {
    if (!this.hasIdentity) return undefined;
    return { creds: await this.credentials };
  }

  /** The reply to a message is ready (null: the message gets none); frees one request slot. */
  finish(reply: Buffer | null): void {
    this.inFlight--;
    if (reply && !this.closing) {
      this.stream.send(reply);
      if (this.closeAfterReply && !this.closeScheduled) {
        // virNetServerClientDelayedClose: once a reply has been written the client is closed, after the rest of
        // that write pass (replies already queued go out too); replies finished later are lost.
        this.closeScheduled = true;
        setImmediate(() => {
          this.closing = true;
          this.stream.end(new ConnectionClosedError('connection closed by CONNECT_CLOSE'));
        });
      }
    }
    this.drain();
  }

  /** CONNECT_CLOSE: nothing more is read from the socket; the client closes after the next reply. */
  closeAfterNextReply(): void {
    this.closeAfterReply = true;
    // Frames not yet dispatched are, for libvirt, still unread in the socket.
    this.waiting.length = 0;
    this.stream.socket.pause();
  }

  /** virNetServerClientClose: the socket closes now; replies not yet written are lost. */
  close(): void {
    this.closing = true;
    this.stream.close(new ConnectionClosedError('client closed by the daemon'));
  }

  private onMessage(msg: Message): void {
    if (this.closing || this.closeAfterReply) return;
    this.waiting.push(msg);
    this.drain();
  }

  private drain(): void {
    while (!this.closing && !this.closeAfterReply && this.inFlight < this.maxRequests && this.waiting.length > 0) {
      const msg = this.waiting.shift()!;
      this.inFlight++;
      this.logReceived(msg);
      this.handler(this, msg);
    }
    if (this.closing || this.closeAfterReply) return;
    if (this.inFlight >= this.maxRequests) {
      this.stream.socket.pause();
      if (!this.warnedLimit && this.maxRequests > 1) {
        this.warnedLimit = true;
        this.log.log(
          LogCategory.NET_SERVER_CLIENT,
          LogLevel.WARNING,
          `Client hit max requests limit ${this.inFlight}. This may result in keep-alive timeouts. Consider tuning the max_client_requests server parameter`,
        );
      }
    } else if (this.waiting.length === 0) {
      this.stream.socket.resume();
    }
  }

  private logReceived(msg: Message): void {
    if (!this.log.enabled(LogCategory.NET_SERVER_CLIENT, LogLevel.INFO)) return;
    const h = msg.header;
    this.log.log(
      LogCategory.NET_SERVER_CLIENT,
      LogLevel.INFO,
      `RPC_SERVER_CLIENT_MSG_RX: client=${this.serverName}/${this.id} len=${msg.payload.length + 28} prog=${h.prog} vers=${h.vers} proc=${h.proc} type=${h.type} status=${h.status} serial=${h.serial}`,
    );
  }
}

function withNames(creds: PeerCredentials): PeerIdentity {
  const identity: PeerIdentity = { ...creds };
  const user = userName(creds.uid);
  const group = groupName(creds.gid);
  if (user !== undefined) identity.userName = user;
  if (group !== undefined) identity.groupName = group;
  return identity;
}
