/** Constants of libvirt's admin program, mirroring src/admin/admin_protocol.x (libvirt 9.0.0 plus proc 20). */

/** ADMIN_PROGRAM and ADMIN_PROTOCOL_VERSION. */
export const ADMIN_PROGRAM = 0x06900690;
export const ADMIN_PROTOCOL_VERSION = 1;

/** admin_procedure: every procedure number of the admin program. */
export const AdminProc = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  CONNECT_GET_LIB_VERSION: 3,
  CONNECT_LIST_SERVERS: 4,
  CONNECT_LOOKUP_SERVER: 5,
  SERVER_GET_THREADPOOL_PARAMETERS: 6,
  SERVER_SET_THREADPOOL_PARAMETERS: 7,
  SERVER_LIST_CLIENTS: 8,
  SERVER_LOOKUP_CLIENT: 9,
  CLIENT_GET_INFO: 10,
  CLIENT_CLOSE: 11,
  SERVER_GET_CLIENT_LIMITS: 12,
  SERVER_SET_CLIENT_LIMITS: 13,
  CONNECT_GET_LOGGING_OUTPUTS: 14,
  CONNECT_GET_LOGGING_FILTERS: 15,
  CONNECT_SET_LOGGING_OUTPUTS: 16,
  CONNECT_SET_LOGGING_FILTERS: 17,
  SERVER_UPDATE_TLS_FILES: 18,
  CONNECT_SET_DAEMON_TIMEOUT: 19,
  /** Added in libvirt 11.2.0; 9.0.0 answers "unknown procedure: 20". */
  CONNECT_DAEMON_SHUTDOWN: 20,
} as const;
export type AdminProc = (typeof AdminProc)[keyof typeof AdminProc];

/** Bounds from admin_protocol.x. */
export const AdminLimits = {
  /** ADMIN_STRING_MAX. */
  STRING_MAX: 4194304,
  /** ADMIN_SERVER_LIST_MAX. */
  SERVER_LIST_MAX: 16384,
  /** ADMIN_CLIENT_LIST_MAX. */
  CLIENT_LIST_MAX: 16384,
  /** ADMIN_SERVER_THREADPOOL_PARAMETERS_MAX. */
  THREADPOOL_PARAMETERS_MAX: 32,
  /** ADMIN_CLIENT_INFO_PARAMETERS_MAX. */
  CLIENT_INFO_PARAMETERS_MAX: 64,
  /** ADMIN_SERVER_CLIENT_LIMITS_MAX. */
  CLIENT_LIMITS_MAX: 32,
  /** VIR_TYPED_PARAM_FIELD_LENGTH: field names are shorter than this, NUL included. */
  TYPED_PARAM_FIELD_LENGTH: 80,
} as const;

/** virTypedParameterType. */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;
export type TypedParamType = (typeof TypedParamType)[keyof typeof TypedParamType];

/** virClientTransport: how a client reached the daemon. */
export const ClientTransport = {
  UNIX: 0,
  TCP: 1,
  TLS: 2,
} as const;
export type ClientTransport = (typeof ClientTransport)[keyof typeof ClientTransport];

/** Names virt-admin prints for each transport. */
export const CLIENT_TRANSPORT_NAMES = ['unix', 'tcp', 'tls'] as const;
export type ClientTransportName = (typeof CLIENT_TRANSPORT_NAMES)[number];

/** virAdmConnectDaemonShutdownFlags. */
export const DaemonShutdownFlags = {
  PRESERVE: 1,
} as const;
