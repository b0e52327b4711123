// Small zod schemas shared by the configuration files (CLI config, controller config).
import { z } from 'zod';

/** An http(s) URL without credentials in it: credentials belong in secrets, not in URLs. */
export const httpUrlSchema = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}, 'must be an http(s) URL without credentials');
