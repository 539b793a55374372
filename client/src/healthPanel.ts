import type { AccountHealthView, AccountList } from "../../core/contract";
import { ApiError, api, request } from "./api";
import { byId, h, show } from "./dom";
import { humanError } from "./errors";
import { healthFacts, healthSummary } from "./healthWords";
import { announce } from "./notices";

/**
 * The "Sync health" part of the account page: what needs a person (in words, with what to do),
 * the facts behind it, and renewing Gmail push by hand when it has lapsed (GET /api/accounts,
 * GET /api/accounts/:id/health, POST /api/accounts/:id/watch).
 */
export class HealthPanel {
  private readonly summary = byId("health-summary");
  private readonly attention = byId<HTMLUListElement>("health-attention");
  private readonly facts = byId("health-facts");
  private readonly renew = byId<HTMLButtonElement>("health-renew");
  private readonly refresh = byId<HTMLButtonElement>("health-refresh");
  private accountId: string | null = null;

  constructor(private readonly onError: (err: unknown) => void) {
    this.renew.addEventListener("click", () => void this.renewWatch());
    this.refresh.addEventListener("click", () => void this.load());
  }

  async load(): Promise<void> {
    try {
      if (!this.accountId) {
        const { accounts } = await api.get<AccountList>("/api/accounts");
        this.accountId = accounts[0]?.id ?? null;
      }
      if (!this.accountId) {
        this.summary.textContent = "No Gmail account is connected.";
        this.render(null);
        return;
      }
      this.render(
        await api.get<AccountHealthView>(`/api/accounts/${encodeURIComponent(this.accountId)}/health`),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.onError(err);
      this.summary.textContent = `The health could not be read: ${humanError(err)}`;
    }
  }

  /** Forgets the account (a sign-out, a new session). */
  reset(): void {
    this.accountId = null;
  }

  private render(view: AccountHealthView | null): void {
    if (!view) {
      this.attention.replaceChildren();
      this.facts.replaceChildren();
      show(this.attention, false);
      show(this.renew, false);
      return;
    }
    this.summary.textContent = healthSummary(view);
    const items = view.attention.map((a) =>
      h(
        "li",
        { dataset: { testid: "health-attention-item", code: a.code } },
        h("strong", { text: a.message }),
        h("span", { text: a.action }),
      ),
    );
    this.attention.replaceChildren(...items);
    show(this.attention, items.length > 0);
    this.facts.replaceChildren(
      ...healthFacts(view).map(([term, value]) =>
        h("div", {}, h("dt", { text: term }), h("dd", { text: value })),
      ),
    );
    show(this.renew, view.push.state === "lapsed");
  }

  private async renewWatch(): Promise<void> {
    if (!this.accountId) return;
    this.renew.disabled = true;
    try {
      const view = await request<AccountHealthView>(
        "POST",
        `/api/accounts/${encodeURIComponent(this.accountId)}/watch`,
      );
      this.render(view);
      announce("Gmail push renewed.");
      this.refresh.focus();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.onError(err);
      announce(`Gmail push was not renewed: ${humanError(err)}`);
      await this.load();
    } finally {
      this.renew.disabled = false;
    }
  }
}
