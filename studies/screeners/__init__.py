"""Screeners (SPEC Q1 to Q5), one module per job: `questions` (the question dict), `logic`
(where answers lead), `rules` (what a saved screener must keep), `answers` (checking and
storing an applicant's answers), `preview` (the walk one question at a time),
`qualification` (Rally-panel rules), `versions` (the draft and its versions) and `writes`
(the editing services). Import from the module that does the job.
"""
