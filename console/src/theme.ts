import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export type ThemeChoice = 'system' | 'light' | 'dark';
export interface Theme {
  choice: ThemeChoice;
  resolved: 'light' | 'dark';
  setChoice(choice: ThemeChoice): void;
}

const STORAGE_KEY = 'portico.console.theme';
const dark = window.matchMedia('(prefers-color-scheme: dark)');

export function storedChoice(): ThemeChoice {
  const stored = localStorage.getItem(STORAGE_KEY);
  return stored === 'light' || stored === 'dark' ? stored : 'system';
}

export function resolve(choice: ThemeChoice): 'light' | 'dark' {
  return choice === 'system' ? (dark.matches ? 'dark' : 'light') : choice;
}

/** Applies a choice to the page (the stylesheet keys on data-theme) and remembers it (not a secret: localStorage). */
export function applyChoice(choice: ThemeChoice): void {
  if (choice === 'system') localStorage.removeItem(STORAGE_KEY);
  else localStorage.setItem(STORAGE_KEY, choice);
  document.documentElement.dataset.theme = resolve(choice);
}

export function onSystemChange(listener: () => void): () => void {
  dark.addEventListener('change', listener);
  return () => dark.removeEventListener('change', listener);
}

export const ThemeContext = createContext<Theme>({ choice: 'system', resolved: 'light', setChoice: () => undefined });
export const useTheme = (): Theme => useContext(ThemeContext);
