"""Units of work (workflow, agent, tool, task), cost roll-up, budgets and notifiers.

`calls` is the seam: the recorder publishes each finished call's facts there and asks it, before a
request is sent, whether a budget blocks it; the other modules here subscribe.
"""
