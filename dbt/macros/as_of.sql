{#- The var as_of_date as a SQL date literal, or none when the var is unset.
    The value is parsed, never pasted, so a malformed date fails at compile time. -#}
{% macro as_of_date_literal() -%}
    {%- set raw = var('as_of_date', none) -%}
    {%- if raw is none or raw | string | trim == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = raw | string | trim -%}
    {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', text) -%}
        {{ exceptions.raise_compiler_error("var as_of_date must be YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.strptime(text, '%Y-%m-%d') -%}
    {{ return("date '" ~ parsed.strftime('%Y-%m-%d') ~ "'") }}
{%- endmacro %}
