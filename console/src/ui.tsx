import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { Schemas } from '@portico/client';
import { problemOf } from './problems';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children ? <p class="muted">{children}</p> : null}
    </div>
  );
}

/** A failure as the API described it: its problem's title and detail, and the request id to quote. */
export function ProblemView({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const problem = problemOf(error);
  return (
    <div class="problem" role="alert">
      <p class="problem-title">
        {problem.status ? <span class="problem-status">{problem.status}</span> : null}
        {problem.title}
      </p>
      <p>{problem.detail}</p>
      {problem.requestId ? <p class="muted small">Request id: <code>{problem.requestId}</code></p> : null}
      {onRetry ? (
        <button type="button" class="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

type TaskState = Schemas['TaskState'];
const STATE_TONE: Record<TaskState, string> = { PENDING: 'neutral', STARTED: 'info', RETRY: 'warn', SUCCESS: 'good', FAILURE: 'bad', REVOKED: 'muted' };

export function StateBadge({ state }: { state: TaskState }) {
  return <span class={`badge badge-${STATE_TONE[state]}`}>{state}</span>;
}

export function Badge({ tone, children }: { tone: 'neutral' | 'info' | 'warn' | 'good' | 'bad' | 'muted'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function Progress({ value, label }: { value: number; label: string }) {
  return (
    <span class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(value * 100)}>
      <span class="progress-bar" style={{ width: `${Math.round(value * 100)}%` }} />
    </span>
  );
}

/**
 * A modal dialog on the native <dialog>: it traps focus, and Escape closes it (as does its
 * Cancel button); focus returns to what opened it.
 */
export function Dialog({ title, open, onClose, children }: { title: string; open: boolean; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onClose={onClose} onCancel={onClose}>
      {open ? (
        <>
          <h2 id="dialog-title">{title}</h2>
          {children}
        </>
      ) : null}
    </dialog>
  );
}

/** A table that scrolls sideways on narrow screens; focusable, so the keyboard can scroll it too. */
export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
      {hint ? <span class="field-hint">{hint}</span> : null}
    </label>
  );
}

/** A column heading: text, or a title shown on hover, or (for a column of buttons) a hidden label. */
export interface Column {
  label: string;
  title?: string;
  hidden?: boolean;
}

/** A scrolling table with its column headings; the rows are its children. */
export function DataTable({ label, columns, children }: { label: string; columns: (string | Column)[]; children: ComponentChildren }) {
  return (
    <TableScroll label={label}>
      <table class="table">
        <thead>
          <tr>
            {columns.map((column) => {
              const { label: text, title, hidden } = typeof column === 'string' ? { label: column } : column;
              return (
                <th scope="col" key={text} title={title}>
                  {hidden ? <span class="visually-hidden">{text}</span> : text}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </TableScroll>
  );
}

/** A drop-down of labelled values; `any` adds a first option for "no filter" (the value ''). */
export function Select<T extends string>({ value, options, onChange, any }: { value: T | ''; options: Record<T, string>; onChange: (value: T | '') => void; any?: string }) {
  const isOption = (candidate: string): candidate is T => Object.hasOwn(options, candidate);
  return (
    <select class="input" value={value} onChange={(event) => onChange(isOption(event.currentTarget.value) ? event.currentTarget.value : '')}>
      {any === undefined ? null : <option value="">{any}</option>}
      {Object.entries<string>(options).map(([option, label]) => (
        <option key={option} value={option}>
          {label}
        </option>
      ))}
    </select>
  );
}

/** A toolbar's compact labelled control. */
export function InlineField({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <label class="inline-field">
      <span>{label}</span>
      {children}
    </label>
  );
}
