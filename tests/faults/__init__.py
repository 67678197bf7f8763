"""Fault injection: Vigie under server restarts, worker kills, mail and Opsgenie outages, and
bad input at every entrance. Every case checks that nothing was lost (incidents, milestones,
mails counted by Message-ID), nothing doubled and nothing stuck.

The quick cases run with every ``make test``; the cases marked ``faults_slow`` (real-time
outages, process kills, many more generated inputs) run with ``make faults``, which also
writes the figures of the run (see ``tally``).
"""
