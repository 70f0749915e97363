export { type App, type AppConfig, createApp } from './app';
export { type Config, loadConfig } from './env';
