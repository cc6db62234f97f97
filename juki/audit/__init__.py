"""Audits of the operation: the access audit over the log (:mod:`.access_audit`), the
self-inspection against the PIA (:mod:`.selfinspect`), signed reviews and confirmed erasures
(:mod:`.signoff`), and disclosure requests as they come in (:mod:`.requests`)."""
