/**
 * Confirmation before every action that changes the platform: a native `<dialog>` (focus
 * trapped, Escape cancels), with optional checkboxes (e.g. "migrate live calls").
 */
import { el } from './format.js';

/** One checkbox of a confirmation. */
export interface ConfirmOption {
  readonly name: string;
  readonly label: string;
  readonly checked?: boolean;
}

export class ConfirmDialog {
  readonly #dialog: HTMLDialogElement;

  constructor(dialog: HTMLDialogElement) {
    this.#dialog = dialog;
  }

  /** Resolves with the options' states when confirmed, `null` when cancelled. */
  ask(title: string, text: string, okLabel: string, options: readonly ConfirmOption[] = []): Promise<Record<string, boolean> | null> {
    const d = this.#dialog;
    d.querySelector('#confirm-title')!.textContent = title;
    d.querySelector('#confirm-text')!.textContent = text;
    d.querySelector('#confirm-ok')!.textContent = okLabel;
    const box = d.querySelector('#confirm-options')!;
    box.replaceChildren(
      ...options.map((o) => {
        const input = el('input', { type: 'checkbox', name: o.name, id: `confirm-opt-${o.name}` });
        input.checked = o.checked ?? false;
        return el('label', { for: `confirm-opt-${o.name}` }, input, o.label);
      }),
    );
    d.returnValue = '';
    d.showModal();
    return new Promise((resolve) => {
      d.addEventListener(
        'close',
        () => {
          if (d.returnValue !== 'ok') return resolve(null);
          const out: Record<string, boolean> = {};
          for (const o of options) out[o.name] = (box.querySelector<HTMLInputElement>(`#confirm-opt-${o.name}`)?.checked ?? false);
          resolve(out);
        },
        { once: true },
      );
    });
  }
}
