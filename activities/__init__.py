"""Every side effect of Vigie: one class per capability."""
