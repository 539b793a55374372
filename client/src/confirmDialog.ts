import { byId, show } from "./dom";

export interface ConfirmOptions {
  title: string;
  text: string;
  /** The confirming button's words, e.g. "Delete my account". */
  confirm: string;
  /** Asks the person to type this (case-insensitively) before the confirming button works. */
  typeToConfirm?: { label: string; value: string };
}

/**
 * The one confirmation step before every destructive action: a modal `<dialog>` (the browser
 * keeps focus inside it and makes the rest of the page inert). Focus starts on Cancel, or on the
 * field to type in; Escape or Cancel answers false; focus goes back to where it was.
 */
export class ConfirmDialog {
  private readonly dialog = byId<HTMLDialogElement>("confirm-dialog");
  private readonly form = byId<HTMLFormElement>("confirm-form");
  private readonly title = byId("confirm-title");
  private readonly text = byId("confirm-text");
  private readonly typed = byId("confirm-typed");
  private readonly typedLabel = byId("confirm-input-label");
  private readonly input = byId<HTMLInputElement>("confirm-input");
  private readonly cancel = byId<HTMLButtonElement>("confirm-cancel");
  private readonly ok = byId<HTMLButtonElement>("confirm-ok");
  private settle: ((confirmed: boolean) => void) | null = null;
  private expected: string | null = null;

  constructor() {
    this.cancel.addEventListener("click", () => this.finish(false));
    // Escape: the browser fires `cancel` and would close the dialog itself; answer false instead.
    this.dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      this.finish(false);
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.matches()) this.finish(true);
    });
    this.input.addEventListener("input", () => {
      this.ok.disabled = !this.matches();
    });
  }

  get isOpen(): boolean {
    return this.dialog.open;
  }

  ask(options: ConfirmOptions): Promise<boolean> {
    this.settle?.(false);
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.title.textContent = options.title;
    this.text.textContent = options.text;
    this.ok.textContent = options.confirm;
    this.expected = options.typeToConfirm?.value.trim().toLowerCase() ?? null;
    this.typedLabel.textContent = options.typeToConfirm?.label ?? "";
    this.input.value = "";
    show(this.typed, Boolean(options.typeToConfirm));
    this.ok.disabled = !this.matches();
    this.dialog.showModal();
    (options.typeToConfirm ? this.input : this.cancel).focus();
    return new Promise<boolean>((resolve) => {
      this.settle = (confirmed) => {
        this.settle = null;
        this.dialog.close();
        // The opener may have gone (a revoked token's row): the caller then moves focus itself.
        if (opener?.isConnected) opener.focus();
        resolve(confirmed);
      };
    });
  }

  private matches(): boolean {
    return this.expected === null || this.input.value.trim().toLowerCase() === this.expected;
  }

  private finish(confirmed: boolean): void {
    this.settle?.(confirmed);
  }
}
