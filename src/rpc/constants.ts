/**
 * Constants of libvirt's RPC layer, mirroring src/rpc/virnetprotocol.x (libvirt 9.0.0)
 * and src/rpc/virkeepaliveprotocol.x.
 */

/** virNetMessageType: what a frame is. */
export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** virNetMessageStatus. */
export const MessageStatus = {
  OK: 0,
  ERROR: 1,
  CONTINUE: 2,
} as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

/** Size bounds of a frame (VIR_NET_MESSAGE_* in virnetprotocol.x; the maxima doubled to 32 MiB in 8.x). */
export const FrameLimits = {
  /** VIR_NET_MESSAGE_LEN_MAX: the length word itself. */
  LEN_SIZE: 4,
  /** VIR_NET_MESSAGE_HEADER_MAX: prog, vers, proc, type, serial, status. */
  HEADER_SIZE: 24,
  /** VIR_NET_MESSAGE_MAX: header plus payload, not counting the length word. */
  MESSAGE_MAX: 33554432,
  /** VIR_NET_MESSAGE_STRING_MAX, also ADMIN_STRING_MAX. */
  STRING_MAX: 4194304,
  /** VIR_NET_MESSAGE_NUM_FDS_MAX. */
  NUM_FDS_MAX: 32,
} as const;

/** Largest legal value of the length word: the length counts itself. */
export const FRAME_MAX = FrameLimits.MESSAGE_MAX + FrameLimits.LEN_SIZE;
/** Smallest legal value of the length word: a header with no payload. */
export const FRAME_MIN = FrameLimits.LEN_SIZE + FrameLimits.HEADER_SIZE;

/** The keepalive program (virkeepaliveprotocol.x): "keep" in ASCII. */
export const KeepaliveProgram = {
  PROGRAM: 0x6b656570,
  VERSION: 1,
  PROC_PING: 1,
  PROC_PONG: 2,
} as const;
