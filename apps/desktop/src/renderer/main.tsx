import { createRoot } from 'react-dom/client';
import { App } from './App';
import { connectStore } from './store';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
root.render(<App />);
void connectStore();
