import type { Codec, XdrReader, XdrWriter } from '../xdr/index.js';
import { FrameLimits } from './constants.js';
import type { LibvirtErrorDetails } from './errors.js';

/** remote_nonnull_domain / remote_nonnull_network as embedded in virNetMessageError (always NULL from admin). */
interface ErrorObjectRef {
  name: string;
  uuid: Buffer;
  id?: number;
}

/** The payload of a status=ERROR reply: virNetMessageError from virnetprotocol.x. */
export interface ErrorPayload extends LibvirtErrorDetails {
  message: string | null;
  dom: ErrorObjectRef | null;
  net: ErrorObjectRef | null;
}

const MAX = FrameLimits.STRING_MAX;
const optString = (r: XdrReader) => r.optional((x) => x.string(MAX));
const writeOptString = (w: XdrWriter, s: string | null) => w.optional(s, (x, v) => x.string(v, MAX));

/** Codec of virNetMessageError. */
export const errorPayloadCodec: Codec<ErrorPayload> = {
  encode(w, e) {
    w.int(e.code).int(e.domain);
    writeOptString(w, e.message);
    w.int(e.level);
    w.optional(e.dom, (x, d) =>
      x
        .string(d.name, MAX)
        .fixedOpaque(d.uuid)
        .int(d.id ?? -1),
    );
    writeOptString(w, e.str1);
    writeOptString(w, e.str2);
    writeOptString(w, e.str3);
    w.int(e.int1).int(e.int2);
    w.optional(e.net, (x, n) => x.string(n.name, MAX).fixedOpaque(n.uuid));
  },
  decode(r) {
    const code = r.int();
    const domain = r.int();
    const message = optString(r);
    const level = r.int();
    const dom = r.optional((x) => ({ name: x.string(MAX), uuid: x.fixedOpaque(16), id: x.int() }));
    const str1 = optString(r);
    const str2 = optString(r);
    const str3 = optString(r);
    const int1 = r.int();
    const int2 = r.int();
    const net = r.optional((x) => ({ name: x.string(MAX), uuid: x.fixedOpaque(16) }));
    return { code, domain, message, level, dom, str1, str2, str3, int1, int2, net };
  },
};
