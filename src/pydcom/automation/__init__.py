"""Automation: IDispatch and VARIANT (MS-OAUT), Python objects served and called late-bound."""
