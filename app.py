"""Okpay wallet backend: wiring only. The code lives in chalicelib/ (see README.md)."""

from chalice import Chalice, Cron, Rate

from chalicelib.adapters import clock
from chalicelib.api import (
    account,
    disputes,
    history,
    identity,
    kyc,
    local,
    middleware,
    payments,
    public,
    tickets,
    transfers,
    wallet,
)
from chalicelib.jobs.registry import run_job

app = Chalice(app_name="okpay")

middleware.install(app)
app.register_blueprint(public.bp)
app.register_blueprint(identity.bp)
app.register_blueprint(account.bp)
app.register_blueprint(kyc.bp)
app.register_blueprint(wallet.bp)
app.register_blueprint(transfers.bp)
app.register_blueprint(payments.bp)
app.register_blueprint(history.bp)
app.register_blueprint(disputes.bp)
app.register_blueprint(tickets.bp)
app.register_blueprint(local.bp)


# Scheduled jobs (contract, section 8). Each runs at the clock's `now`.
@app.schedule(Rate(15, unit=Rate.MINUTES), name="dispute_sla")
def dispute_sla(event):
    return run_job("dispute_sla", clock.now())


@app.schedule(Rate(15, unit=Rate.MINUTES), name="ticket_sla")
def ticket_sla(event):
    return run_job("ticket_sla", clock.now())


# 02:10 Beijing time (18:10 UTC), after the day's close.
@app.schedule(Cron(10, 18, "*", "*", "?", "*"), name="reconcile")
def reconcile(event):
    return run_job("reconcile", clock.now())


# 10:00 Beijing time (02:00 UTC), so reminders arrive in the morning.
@app.schedule(Cron(0, 2, "*", "*", "?", "*"), name="password_age")
def password_age(event):
    return run_job("password_age", clock.now())
