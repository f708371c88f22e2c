"""The portal's date and time formats per language, on top of Django's own (FORMAT_MODULE_PATH).

One style everywhere, portal pages and the admin alike: dates as digits, times on the 24-hour clock.
"""
