import { RegistryError } from './errors.js';
import type { KeyLayout, RegistryStore } from './store.js';

/**
 * The store, or its view (`withLayout`), that reads and writes `layout`; `unsupported` when the store
 * does not declare the layout, so a registry is refused at construction rather than writing records
 * that the other side of a mixed fleet cannot find.
 */
export function storeForLayout(store: RegistryStore, layout: KeyLayout): RegistryStore {
  const current = store.capabilities.layout ?? 'native';
  if (current === layout) return store;
  const layouts = store.capabilities.layouts ?? [current];
  if (!layouts.includes(layout) || typeof store.withLayout !== 'function') {
    throw new RegistryError(
      'unsupported',
      `the ${store.name} store does not support the ${layout} key layout (it declares ${layouts.join(', ')})`,
    );
  }
  const view = store.withLayout(layout);
  if ((view?.capabilities?.layout ?? 'native') !== layout) {
    throw new RegistryError(
      'unsupported',
      `the ${store.name} store's withLayout('${layout}') returned a store of another layout`,
    );
  }
  return view;
}
