"""Which tab of the page is showing, as a named view (``spectra``, ``properties``, …) the page address keeps.

:class:`Navigator` ties a ``view`` name to a :class:`panel.Tabs`: choosing a tab sets the name, setting
the name (the address's ``?view=``, the guided tour) opens the tab. An unknown name is reported and the
page stays on its current tab.
"""

from __future__ import annotations

import panel as pn
import param


class Navigator(param.Parameterized):
    """The named view of a :class:`panel.Tabs`; ``names[i]`` names tab ``i``."""

    view = param.String(default="", doc="name of the tab showing (the page address's ?view=)")
    message = param.String(default="", doc="the last problem with a requested view")

    def __init__(self, tabs: pn.Tabs, names: list[str], notify=None, **params):
        super().__init__(**params)
        self.tabs = tabs
        self.names = list(names)
        self.notify = notify or (lambda level, text: None)
        self._resetting = False
        self.view = self.names[tabs.active]
        tabs.param.watch(self._on_tab, "active")
        self.param.watch(self._on_view, "view")

    def show(self, name: str) -> bool:
        """Open the tab named ``name``; False (and a message) for a name the page lacks."""
        self.view = name
        return self.view == name

    def _on_tab(self, event) -> None:
        self.view = self.names[event.new]

    def _on_view(self, event) -> None:
        name = str(event.new)
        if name in self.names:
            if not self._resetting:
                self.message = ""
            if self.tabs.active != self.names.index(name):
                self.tabs.active = self.names.index(name)
            return
        self.message = f"unknown view '{name[:40]}': the views are {', '.join(self.names)}"
        self.notify("warning", self.message)
        self._resetting = True
        try:
            self.view = self.names[self.tabs.active]
        finally:
            self._resetting = False
