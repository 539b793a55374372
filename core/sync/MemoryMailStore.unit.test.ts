import { mailStoreConformance } from "./MailStore.conformance";
import { emptyMailbox, MemoryMailStore } from "./MemoryMailStore";

mailStoreConformance("in memory (MemoryMailStore)", {
  async mailbox() {
    const mailbox = emptyMailbox();
    const store = new MemoryMailStore(mailbox);
    return {
      store,
      read: async (gmailId) => store.read(gmailId),
      labels: async () => store.storedLabels(),
      reopen: () => new MemoryMailStore(mailbox),
    };
  },
});
