import { readFileSync } from 'node:fs';
import type { TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';

/**
 * The configuration file (`--config PATH`): YAML whose keys are the configuration schema's own (camelCase, as
 * in ConfigSchema, src/config.ts), each checked with that key's schema, unknown keys refused. Its values sit
 * between the environment and the defaults: config.ts hands them in as environment values, which the
 * environment itself and then the flags override.
 */

/** A configuration file that cannot be used; the message names the file and, where there is one, the key. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/** How a key is given in the environment: its variable, and for lists the separator the variable uses. */
export interface EnvForm {
  env: string;
  /** Lists only: what joins the items in the variable. */
  separator?: string;
}

/**
 * The file's settings as environment values (`{ LIBVIRT_ADMIN_GATEWAY_LISTEN: '0.0.0.0:8080', ... }`), once every
 * key is known and every value passes its schema. Throws ConfigFileError.
 */
export function readConfigFile(
  path: string,
  schema: TObject,
  forms: Readonly<Record<string, EnvForm>>,
): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConfigFileError(`the config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigFileError(`the config file ${path} must be a mapping of option names to values`);
  }
  const properties = schema.properties as Record<string, TSchema>;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    const property = properties[key];
    const form = forms[key];
    if (property === undefined || form === undefined) {
      throw new ConfigFileError(
        `unknown key '${key}' in the config file ${path} (the keys are: ${Object.keys(forms).join(', ')})`,
      );
    }
    const error = Value.Errors(property, value).First();
    if (error) {
      throw new ConfigFileError(
        `invalid '${key}' in the config file ${path}: ${JSON.stringify(value)}: ${error.message}`,
      );
    }
    env[form.env] = Array.isArray(value) ? value.map(String).join(form.separator ?? ' ') : String(value);
  }
  return env;
}
