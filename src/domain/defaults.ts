import type { requestDefaults } from '../generated/constants.js';

type Operation = keyof typeof requestDefaults;

/** What the spec defaults for operation `K` in `location`; empty when nothing is. */
export type DefaultsOf<K extends string, Location extends 'query' | 'body'> = K extends Operation
  ? (typeof requestDefaults)[K] extends { readonly [L in Location]: infer D }
    ? D
    : object
  : object;

/**
 * A request part as the validator hands it over: it fills in every default the spec declares
 * (useDefaults), so a defaulted field is always present. A value that is absent altogether (an
 * optional body not sent) stays absent.
 */
export type Filled<T, D> = T extends object ? T & { [P in keyof D & keyof T]-?: Exclude<T[P], undefined> } : T;

/** The body of operation `K` once validated. */
export type ValidBody<K extends string, Body> = Filled<Body, DefaultsOf<K, 'body'>>;
