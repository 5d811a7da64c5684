"""Make ``hide_solutions: true`` remove gated solutions, code cells included.

The chapters write each solution of a coding exercise with sphinx-exercise's *gated* directives,
so that the solution can hold notebook code cells::

    ````{solution-start} ex-02-isoflop
    :class: dropdown
    ````
    (markdown and code cells of the solution)
    ````{solution-end}
    ````

With ``hide_solutions: true`` (``sphinx: config:`` in ``_config.yml``) sphinx-exercise 1.2 drops
the ``solution-start`` node but leaves everything up to ``solution-end`` on the page, and the
left-over ``solution-end`` node then breaks the HTML writer. This extension fixes that: when
``hide_solutions`` is on, ``solution-start`` leaves a marker, and a transform removes the marker,
everything after it up to the matching ``solution-end``, and the ``solution-end`` itself. When
``hide_solutions`` is off, nothing changes (sphinx-exercise folds the solution into a dropdown).
``tests/test_exercises.py`` builds a tiny book both ways and checks the HTML.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node


class hidden_solution_start(nodes.Element):  # noqa: N801 (docutils node naming)
    """Where a solution starts that ``hide_solutions`` removes (never written out)."""


class HidableSolutionStart(SolutionStartDirective):
    """``solution-start`` that, under ``hide_solutions``, marks where the solution begins."""

    def run(self):
        nodes_out = super().run()  # registers the gate (checked by sphinx-exercise)
        if self.env.app.config.hide_solutions:
            return [hidden_solution_start()]
        return nodes_out


class RemoveHiddenSolutions(SphinxTransform):
    """Remove each marked solution: the marker, what follows it, and its ``solution-end``."""

    default_priority = 9  # before sphinx-exercise merges gated solutions (priority 10)

    def apply(self, **kwargs) -> None:
        for start in list(self.document.findall(hidden_solution_start)):
            parent = start.parent
            siblings = parent.children
            i = siblings.index(start)
            end = next(
                (j for j in range(i + 1, len(siblings)) if isinstance(siblings[j], solution_end_node)),
                None,
            )
            if end is None:  # sphinx-exercise reports the unmatched gate itself
                parent.remove(start)
                continue
            for child in siblings[i : end + 1]:
                parent.remove(child)


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_node(hidden_solution_start)
    app.add_directive("solution-start", HidableSolutionStart, override=True)
    app.add_transform(RemoveHiddenSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
