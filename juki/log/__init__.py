"""The operation log: one hash-chained, anchored record of every use (:mod:`.oplog`), and the
witness copy another account keeps of its head (:mod:`.witness`)."""
