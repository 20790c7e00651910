import { useEffect, useState } from 'react';
import type { CapabilityAd, ComputeRequest } from '../../shared/contract';
import { call, useApp } from '../store';

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export function Compute() {
  return (
    <div className="compute">
      <div className="compute-left">
        <OwnAd />
        <PeerAds />
      </div>
      <Requests />
    </div>
  );
}

function priceOf(ad: CapabilityAd): string {
  try {
    const hints = JSON.parse(ad.priceHints) as { msats_per_job?: number };
    return hints.msats_per_job !== undefined ? `${hints.msats_per_job} msats/job` : '';
  } catch {
    return '';
  }
}

function OwnAd() {
  const own = useApp((app) => app.ads.find((a) => a.isOwn));
  const [tools, setTools] = useState('');
  const [models, setModels] = useState('');
  const [classes, setClasses] = useState('cpu.small');
  const [concurrency, setConcurrency] = useState('1');
  const [price, setPrice] = useState('0');
  const [region, setRegion] = useState('');
  const [loadedId, setLoadedId] = useState<string | null>(null);

  useEffect(() => {
    if (own && own.id !== loadedId) {
      setLoadedId(own.id);
      setTools(own.tools.join(', '));
      setModels(own.models.join(', '));
      setClasses(own.computeClasses.join(', '));
      setConcurrency(String(own.maxConcurrency));
      setPrice(String((JSON.parse(own.priceHints || '{}') as { msats_per_job?: number }).msats_per_job ?? 0));
      setRegion(own.region);
    }
  }, [own, loadedId]);

  const save = () =>
    call('ads.save', {
      tools: list(tools),
      models: list(models),
      computeClasses: list(classes),
      maxConcurrency: Number(concurrency) || 1,
      priceMsatsPerJob: Number(price) || 0,
      region: region.trim(),
    });

  return (
    <section className="panel" data-testid="own-ad">
      <h3>
        My capability ad{' '}
        {own && (
          <span className={own.active ? 'pill ok' : 'pill'} data-testid="own-ad-state">
            {own.active ? 'advertised' : 'withdrawn'}
          </span>
        )}
      </h3>
      <div className="grid2">
        <label className="field">
          <span>Tools</span>
          <input data-testid="ad-tools" value={tools} placeholder="e.g. shell, git" onChange={(e) => setTools(e.target.value)} />
        </label>
        <label className="field">
          <span>Models</span>
          <input data-testid="ad-models" value={models} placeholder="e.g. llama-3-8b" onChange={(e) => setModels(e.target.value)} />
        </label>
        <label className="field">
          <span>Compute classes</span>
          <input data-testid="ad-classes" value={classes} onChange={(e) => setClasses(e.target.value)} />
        </label>
        <label className="field">
          <span>Max concurrent jobs</span>
          <input data-testid="ad-concurrency" value={concurrency} onChange={(e) => setConcurrency(e.target.value.replace(/\D/g, ''))} />
        </label>
        <label className="field">
          <span>Price (msats per job)</span>
          <input data-testid="ad-price" value={price} onChange={(e) => setPrice(e.target.value.replace(/\D/g, ''))} />
        </label>
        <label className="field">
          <span>Region</span>
          <input value={region} onChange={(e) => setRegion(e.target.value)} />
        </label>
      </div>
      <div className="row">
        <button className="primary" data-testid="ad-save" onClick={save}>
          {own?.active ? 'Update ad' : 'Advertise'}
        </button>
        {own?.active && (
          <button data-testid="ad-withdraw" onClick={() => call('ads.withdraw', {})}>
            Withdraw
          </button>
        )}
      </div>
    </section>
  );
}

function PeerAds() {
  const allAds = useApp((app) => app.ads);
  const ads = allAds.filter((a) => !a.isOwn && a.active);
  const [requesting, setRequesting] = useState<string | null>(null);
  return (
    <section className="panel" data-testid="peer-ads">
      <h3>Offered by peers</h3>
      {ads.length === 0 && <p className="muted">No peer advertises compute right now.</p>}
      {ads.map((ad) => (
        <div className="card" key={ad.id} data-testid="peer-ad" data-provider={ad.providerName}>
          <div className="card-head">
            <strong>{ad.providerName}</strong>
            <span className="muted small">
              {ad.computeClasses.join(', ')} · up to {ad.maxConcurrency} · {priceOf(ad)}
            </span>
          </div>
          <div className="muted small">
            {ad.tools.length > 0 && <>tools: {ad.tools.join(', ')} </>}
            {ad.models.length > 0 && <>· models: {ad.models.join(', ')}</>}
            {ad.region && <> · {ad.region}</>}
          </div>
          {requesting === ad.id ? (
            <RequestForm ad={ad} onDone={() => setRequesting(null)} />
          ) : (
            <button className="small" data-testid="request-compute" onClick={() => setRequesting(ad.id)}>
              Request compute
            </button>
          )}
        </div>
      ))}
    </section>
  );
}

function RequestForm({ ad, onDone }: { ad: CapabilityAd; onDone: () => void }) {
  const [policyClass, setPolicyClass] = useState(ad.computeClasses[0] ?? '');
  const [jobKind, setJobKind] = useState('text.process');
  const [job, setJob] = useState('');
  const [maxPrice, setMaxPrice] = useState('1000');
  const submit = async () => {
    const r = await call('compute.request', { provider: ad.provider, policyClass, jobKind: jobKind.trim(), job, maxPriceMsats: Number(maxPrice) || 0 });
    if (r.ok) onDone();
  };
  return (
    <div className="request-form" data-testid="request-form">
      <label className="field inline">
        <span>Class</span>
        <select value={policyClass} onChange={(e) => setPolicyClass(e.target.value)}>
          {ad.computeClasses.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      </label>
      <label className="field inline">
        <span>Job kind</span>
        <input data-testid="request-kind" list={`kinds-${ad.id}`} value={jobKind} onChange={(e) => setJobKind(e.target.value)} />
        <datalist id={`kinds-${ad.id}`}>
          {['text.process', ...ad.tools.filter((t) => t.includes('.'))].filter((k, i, all) => all.indexOf(k) === i).map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
      </label>
      <label className="field">
        <span>Job</span>
        <textarea data-testid="request-job" rows={2} value={job} onChange={(e) => setJob(e.target.value)} placeholder="What should the provider run?" />
      </label>
      <label className="field inline">
        <span>Max price (msats)</span>
        <input value={maxPrice} onChange={(e) => setMaxPrice(e.target.value.replace(/\D/g, ''))} />
      </label>
      <div className="row">
        <button onClick={onDone}>Cancel</button>
        <button className="primary" data-testid="request-submit" disabled={job.trim() === ''} onClick={submit}>
          Send request
        </button>
      </div>
    </div>
  );
}

function Requests() {
  const requests = useApp((app) => app.compute);
  return (
    <section className="panel requests" data-testid="compute-requests">
      <h3>Compute requests</h3>
      {requests.length === 0 && <p className="muted">No requests yet.</p>}
      {requests.map((r) => (
        <RequestRow key={r.id} request={r} />
      ))}
    </section>
  );
}

function RequestRow({ request: r }: { request: ComputeRequest }) {
  const [result, setResult] = useState('');
  const canDecide = r.role === 'provider' && r.status === 'open';
  const canComplete = r.role === 'provider' && r.status === 'assigned' && r.assignmentStatus === 'accepted';
  const canCancel = r.role === 'requester' && (r.status === 'open' || r.status === 'assigned');
  return (
    <div className="card" data-testid="compute-request" data-role={r.role} data-status={r.status} data-request-id={r.id}>
      <div className="card-head">
        <strong>#{r.id}</strong>
        <span className="muted small">
          {r.role === 'requester' ? `to ${r.providerName || 'any provider'}` : `from ${r.requesterName}`} · {r.policyClass}
        </span>
        <span className={`pill status-${r.status}`} data-testid="compute-status">
          {r.status}
        </span>
      </div>
      {r.job && <p className="job">{r.job}</p>}
      {r.result !== null && (
        <p className="result" data-testid="compute-result">
          Result: {r.result}
        </p>
      )}
      {r.reason && <p className="muted small">Reason: {r.reason}</p>}
      <div className="row">
        {canDecide && (
          <>
            <button className="primary small" data-testid="compute-accept" onClick={() => call('compute.accept', { requestId: r.id })}>
              Accept
            </button>
            <button className="small" data-testid="compute-reject" onClick={() => call('compute.reject', { requestId: r.id, reason: 'declined' })}>
              Reject
            </button>
          </>
        )}
        {canComplete && (
          <>
            <input data-testid="compute-result-input" placeholder="result" value={result} onChange={(e) => setResult(e.target.value)} />
            <button
              className="primary small"
              data-testid="compute-complete"
              onClick={() => call('compute.complete', { requestId: r.id, success: true, result, reason: '' })}
            >
              Complete
            </button>
            <button className="small" onClick={() => call('compute.complete', { requestId: r.id, success: false, result: '', reason: 'failed' })}>
              Fail
            </button>
          </>
        )}
        {canCancel && (
          <button className="small" data-testid="compute-cancel" onClick={() => call('compute.cancel', { requestId: r.id })}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}
