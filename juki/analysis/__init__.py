"""The analysts' side: a de-identified analysis store published from the registry
(:mod:`.publish`), opened read-only by analysts (:mod:`.store`), and the explorer served as an
app (:mod:`.explore_app`).  The registry store is never opened in an analyst's process."""
