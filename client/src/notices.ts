import { byId, show } from "./dom";

/** The polite live region for screen readers and the visible error banner. */
const announcer = () => byId("announcer");

export function announce(text: string): void {
  const region = announcer();
  // Clearing first makes a repeated message be read again.
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

export function showError(text: string): void {
  byId("error-text").textContent = text;
  show(byId("error"));
}

export function clearError(): void {
  show(byId("error"), false);
  byId("error-text").textContent = "";
}

export function wireErrorDismiss(): void {
  byId("error-dismiss").addEventListener("click", clearError);
}
