import { isTerminal, type TaskSnapshot, type TaskState } from "../../core/contract";
import { AccountMenu, reconnectHref } from "./account";
import { AccountSettings } from "./accountSettings";
import { ApiError, api, type Me, setCsrfToken } from "./api";
import { byId, show } from "./dom";
import { EmailDetailView } from "./emailDetail";
import { EmailList } from "./emailList";
import { errorCode, humanError } from "./errors";
import { arrivalWords, formatCount, formatRelative } from "./format";
import { Labels } from "./labels";
import { followMailChanges, MAIL_CHANGED_EVENT } from "./liveMail";
import { Navigation } from "./navigation";
import { announce, clearError, showError } from "./notices";
import { ProgressView } from "./progressView";
import { LiveChannel } from "./socket";
import { SyncChoices } from "./syncChoices";
import { SyncTransport } from "./syncTransport";
import { taskStore } from "./taskStore";

const ME_REFRESH_MS = 3_000;

/**
 * The signed-in page: account menu, Fetch button, the sync card fed by the transport chain, and
 * the email list and detail. Lives until sign-out (sign-in is always a full page load).
 */
export class Session {
  private readonly fetchButton = byId<HTMLButtonElement>("fetch");
  private readonly fetchHint = byId("fetch-hint");
  private readonly toolbar = byId("toolbar");
  private readonly reauthBanner = byId("reauth-banner");
  private readonly reauthLink = byId<HTMLAnchorElement>("reauth-banner-link");
  private readonly progress: ProgressView;
  private readonly list: EmailList;
  private readonly detail: EmailDetailView;
  private readonly account: AccountMenu;
  private readonly settings: AccountSettings;
  private readonly nav: Navigation;
  private readonly live: LiveChannel;
  private readonly transport: SyncTransport;
  private readonly labels = new Labels();
  private readonly choices: SyncChoices;
  private readonly lastState = new Map<string, TaskState>();
  private taskFailedReauth = false;
  private disposed = false;
  private meRefreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private me: Me,
    private readonly onSignedOut: (notice?: string) => void,
  ) {
    setCsrfToken(me.csrfToken);
    this.progress = new ProgressView(() => reconnectHref(this.me.email), announce);
    this.account = new AccountMenu({
      onSignOut: () => void this.signOut(),
      onOpenSettings: () => this.nav.openSettings(),
    });
    this.settings = new AccountSettings({
      email: () => this.me.email,
      gmailStatus: () => this.me.gmailStatus,
      onClose: () => {
        this.account.focus();
        this.nav.closed("settings");
      },
      onGmailChanged: () => this.refreshMe(),
      onSignedOut: (notice) => this.leave(notice),
      onError: (err) => this.reportError(err),
    });
    const labelName = (id: string) => this.labels.name(id);
    this.detail = new EmailDetailView({
      onClose: (id, threadId) => {
        this.list.focusItem(id, threadId);
        this.nav.closed("message");
      },
      labelName,
    });
    this.list = new EmailList({
      onOpen: (id) => this.nav.openMessage(id),
      onError: (err) => this.reportError(err),
      onFilter: (filter, how) => this.nav.filtered(filter, how),
      labelName,
    });
    this.nav = new Navigation({
      list: this.list,
      detail: this.detail,
      settings: this.settings,
      labelName,
      total: () => this.me.emailCount,
      onError: (err) => this.reportError(err),
    });
    this.choices = new SyncChoices(labelName);
    this.live = new LiveChannel();
    followMailChanges(this.live);
    this.transport = new SyncTransport(this.live, {
      onFollow: (taskId) => {
        this.progress.begin(taskId);
        taskStore.save(this.me.email, taskId);
        this.setBusy(true);
      },
      onSnapshot: (snapshot) => this.onSnapshot(snapshot),
      onWaiting: (taskId, wait) => {
        this.progress.setWaiting(taskId, wait);
        if (wait.waiting === "no_workers")
          announce("No worker is running; continuing the sync from this page.");
      },
      onMode: (mode) => this.progress.setMode(mode),
      onLost: (taskId) => {
        taskStore.clear(this.me.email, taskId);
        this.progress.abandon(taskId);
        this.setBusy(this.transport.busy);
      },
      onError: (err) => {
        this.setBusy(this.transport.busy);
        this.reportError(err);
      },
    });
    this.fetchButton.addEventListener("click", () => void this.fetchEmails());
    document.addEventListener(MAIL_CHANGED_EVENT, this.onMailChanged);
  }

  /** Any sync of this user changed their mail (a push, the schedule, another tab): show it. */
  private readonly onMailChanged = () => {
    if (this.disposed) return;
    this.list.scheduleRefresh();
    void this.refreshMe();
  };

  start(): void {
    show(byId("signed-in"));
    this.renderMe();
    // The address says which view to show; all mail is read unless it names a search or label.
    this.nav.start();
    if (!this.list.started) void this.list.reload();
    void this.loadLabels();
    // A sync that was running when this page (re)loaded: follow it to its end.
    const running = taskStore.load(this.me.email);
    if (running) this.transport.follow(running);
  }

  private async fetchEmails(): Promise<void> {
    if (this.transport.busy) return;
    clearError();
    const options = this.choices.options();
    if (!options) return;
    this.setBusy(true);
    await this.transport.start(options);
    this.setBusy(this.transport.busy);
  }

  /** Labels for the filter and the sync choices; a sync that ends may have brought new ones. */
  private async loadLabels(): Promise<void> {
    try {
      const offered = await this.labels.load();
      if (this.disposed) return;
      this.list.setLabels(offered);
      this.choices.setLabels(offered);
      this.nav.refreshNames();
    } catch (err) {
      this.reportError(err);
    }
  }

  private onSnapshot(s: TaskSnapshot): void {
    if (this.disposed) return;
    const terminal = isTerminal(s.state);
    this.setBusy(!terminal);
    if (terminal) taskStore.clear(this.me.email, s.taskId);
    else taskStore.save(this.me.email, s.taskId);
    if (s.state === "active") {
      this.list.scheduleRefresh();
      this.scheduleMeRefresh();
    }

    const before = this.lastState.get(s.taskId);
    this.lastState.set(s.taskId, s.state);
    // The card renders after the state is announced, so what it announces (a pause for the day,
    // seen in the first snapshot after a reload) is the last word, not overwritten by "Sync started."
    if (before === s.state) {
      this.progress.render(s);
      return;
    }
    this.announceState(s);
    this.progress.render(s);
    if (terminal) {
      void this.list.refreshFirstPage();
      void this.refreshMe();
      void this.loadLabels();
    }
  }

  /** A new state of the followed task, said once to screen readers. */
  private announceState(s: TaskSnapshot): void {
    switch (s.state) {
      case "queued":
        announce("Sync queued.");
        break;
      case "active":
        announce("Sync started.");
        break;
      case "completed": {
        const r = s.result;
        announce(
          r
            ? `Sync complete: ${formatCount(r.added)} added, ${formatCount(r.updated)} updated, ${formatCount(r.deleted)} deleted.`
            : "Sync complete.",
        );
        this.taskFailedReauth = false;
        break;
      }
      case "failed":
        announce(`Sync failed. ${humanError(s.error ?? { code: "internal" })}`);
        if (s.error?.code === "reauth_required") this.taskFailedReauth = true;
        break;
    }
  }

  private setBusy(busy: boolean): void {
    this.fetchButton.disabled = busy;
    this.fetchButton.setAttribute("aria-busy", String(busy));
    this.fetchButton.textContent = busy ? "Syncing…" : "Fetch emails";
    this.choices?.setDisabled(busy);
  }

  /** While a sync stores mail, the stored count (account menu, "Showing x of y") follows every ~3 s. */
  private scheduleMeRefresh(): void {
    if (this.meRefreshTimer !== undefined) return;
    this.meRefreshTimer = setTimeout(() => {
      this.meRefreshTimer = undefined;
      void this.refreshMe();
    }, ME_REFRESH_MS);
  }

  private async refreshMe(): Promise<void> {
    try {
      const me = await api.get<Me>("/api/me");
      if (this.disposed) return;
      this.me = me;
      setCsrfToken(me.csrfToken);
      this.renderMe();
    } catch (err) {
      this.reportError(err);
    }
  }

  /** Every session ended (sign out everywhere) or the account is gone: nothing to resume here. */
  private leave(notice: string): void {
    taskStore.clear(this.me.email);
    this.dispose();
    this.onSignedOut(notice);
  }

  /**
   * The page follows the account's state: Fetch only while Gmail is connected; otherwise one
   * action in words that fit (Connect after a disconnect, Reconnect when Google needs consent).
   */
  private renderMe(): void {
    const disconnected = this.me.gmailStatus === "disconnected";
    const connected = this.me.gmailStatus === "connected" && !this.taskFailedReauth;
    this.account.render(this.me, !connected);
    this.list.setTotal(this.me.emailCount);
    show(this.toolbar, connected || this.transport.busy);
    this.reauthLink.href = reconnectHref(this.me.email);
    this.reauthLink.textContent = disconnected ? "Connect Gmail" : "Reconnect Gmail";
    byId("reauth-banner-text").textContent = disconnected
      ? "Gmail is disconnected. Connect it again to sync new mail; what was copied so far stays here."
      : "Gmail access for this account was revoked or has expired. Reconnect to keep your copy up to date.";
    this.settings.renderStatus();
    show(this.reauthBanner, !connected);
    const last = this.me.lastSyncAt ? `Last synced ${formatRelative(this.me.lastSyncAt)}.` : "";
    const arrival = arrivalWords(this.me) ?? "";
    this.fetchHint.textContent =
      [last, arrival].filter(Boolean).join(" ") || "Copy your Gmail into your own database.";
    this.nav.refreshNames();
  }

  private reportError(err: unknown): void {
    if (this.disposed) return;
    if (err instanceof ApiError && err.status === 401) {
      this.dispose();
      this.onSignedOut("Your session has ended. Please sign in again.");
      return;
    }
    if (errorCode(err) === "reauth_required") {
      this.taskFailedReauth = true;
      this.renderMe();
    }
    showError(humanError(err));
  }

  private async signOut(): Promise<void> {
    try {
      await api.post("/auth/logout");
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) {
        showError(humanError(err));
        return;
      }
    }
    this.dispose();
    this.onSignedOut("You are signed out.");
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    document.removeEventListener(MAIL_CHANGED_EVENT, this.onMailChanged);
    clearTimeout(this.meRefreshTimer);
    this.transport.stop();
    this.nav.dispose();
    this.live.close();
    if (this.detail.isOpen) this.detail.close();
    this.settings.hide();
    this.list.clear();
    this.progress.hide();
    this.account.hide();
    clearError();
    setCsrfToken(null);
    show(byId("signed-in"), false);
  }
}
