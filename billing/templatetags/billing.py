from django import template

from billing.money import money_format

register = template.Library()


@register.filter
def money(value):
    """{{ amount|money }} → $1,234.00"""
    return money_format(value)
